import { WebSocket, WebSocketServer } from "ws"
import { addressOf } from "./processes.js"
import { now } from "./time.js"

/**
 * A WebSocket relay in front of one node that counts the TRANSACTION frames passing through it, in
 * both directions. Every connection to the relay's port gets its own connection to the node; frames
 * are forwarded one for one. Addresses in HANDSHAKE and PEERS frames are rewritten, both ways, so that
 * nodes learn (and dial) each other's relays instead of each other directly, and a node still
 * recognises its own address: going into the node by `rewrite`; going back to the dialling node (known
 * by the own address its first HANDSHAKE or PEERS names) by `rewriteFor(that address)`. Works for any
 * implementation: nothing in the node changes.
 */
export interface CountingRelay {
  readonly transactionFrames: () => number
  /** When (bench clock) a HANDSHAKE or PEERS frame last passed, either way; undefined before the first. */
  readonly lastAddressFrameAt: () => number | undefined
  readonly close: () => Promise<void>
}

export const startRelay = (
  port: number,
  nodePort: number,
  rewrite: (address: string) => string,
  rewriteFor: (client: string) => ((address: string) => string) | undefined,
): Promise<CountingRelay> =>
  new Promise((resolveRelay, rejectRelay) => {
    let transactionFrames = 0
    let lastAddressFrameAt: number | undefined
    const observe = (message: Parsed | undefined) => {
      if (message?.type === "TRANSACTION") transactionFrames++
      else if (message?.type === "HANDSHAKE" || message?.type === "PEERS") lastAddressFrameAt = now()
    }
    const server = new WebSocketServer({ port, host: "localhost" })
    const upstreams = new Set<WebSocket>()

    server.on("connection", (client) => {
      const upstream = new WebSocket(addressOf(nodePort))
      upstreams.add(upstream)
      const queued: Array<{ data: string | Buffer; binary: boolean }> = []
      // How addresses going back to the dialler are written, once it has named itself.
      let toClient: ((address: string) => string) | undefined
      const toNode = (data: string | Buffer, binary: boolean) =>
        upstream.readyState === WebSocket.OPEN ? upstream.send(data, { binary }) : queued.push({ data, binary })
      client.on("message", (raw, binary) => {
        const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.toString())
        const message = binary ? undefined : parse(data.toString())
        observe(message)
        const named = message === undefined ? undefined : ownAddressIn(message)
        if (toClient === undefined && named !== undefined) toClient = rewriteFor(named)
        const rewritten = message === undefined ? undefined : rewriteAddresses(message, rewrite)
        if (rewritten !== undefined) toNode(rewritten, false)
        else toNode(binary ? data : data.toString(), binary)
      })
      upstream.on("message", (raw, binary) => {
        const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.toString())
        const message = binary ? undefined : parse(data.toString())
        observe(message)
        const rewritten =
          message === undefined || toClient === undefined ? undefined : rewriteAddresses(message, toClient)
        if (client.readyState !== WebSocket.OPEN) return
        if (rewritten !== undefined) client.send(rewritten, { binary: false })
        else client.send(binary ? data : data.toString(), { binary })
      })
      upstream.once("open", () => {
        for (const { data, binary } of queued.splice(0)) upstream.send(data, { binary })
      })
      const closeBoth = () => {
        upstreams.delete(upstream)
        if (client.readyState !== WebSocket.CLOSED) client.close()
        if (upstream.readyState !== WebSocket.CLOSED) upstream.terminate()
      }
      client.on("close", closeBoth)
      upstream.on("close", closeBoth)
      client.on("error", () => {})
      upstream.on("error", () => {})
    })
    server.once("error", rejectRelay)
    server.once("listening", () =>
      resolveRelay({
        transactionFrames: () => transactionFrames,
        lastAddressFrameAt: () => lastAddressFrameAt,
        close: () =>
          new Promise<void>((resolveClose) => {
            for (const upstream of upstreams) upstream.terminate()
            for (const client of server.clients) client.terminate()
            server.close(() => resolveClose())
          }),
      }),
    )
  })

type Parsed = { readonly type?: unknown; readonly data?: unknown }

const rewriteList = (list: unknown, rewrite: (address: string) => string): unknown =>
  Array.isArray(list) ? list.map((entry) => (typeof entry === "string" ? rewrite(entry) : entry)) : list

/**
 * The frame with its addresses rewritten, if it carries any: HANDSHAKE (the spec's list) and PEERS (our
 * nodes' own message: `address`, `peers`, `known`), so a node's view of who relays to whom is in the
 * same relay addresses as its links. Undefined for every other frame, which passes unchanged.
 */
const rewriteAddresses = (message: Parsed, rewrite: (address: string) => string): string | undefined => {
  if (message.type === "HANDSHAKE" && Array.isArray(message.data))
    return JSON.stringify({ ...message, data: rewriteList(message.data, rewrite) })
  if (message.type === "PEERS" && typeof message.data === "object" && message.data !== null) {
    const data: Record<string, unknown> = { ...message.data }
    if (typeof data.address === "string") data.address = rewrite(data.address)
    for (const key of ["peers", "known"]) if (key in data) data[key] = rewriteList(data[key], rewrite)
    return JSON.stringify({ ...message, data })
  }
  return undefined
}

/** The address a node gives as its own: the first entry of its HANDSHAKE, or its PEERS `address`. */
const ownAddressIn = (message: Parsed): string | undefined => {
  if (message.type === "HANDSHAKE" && Array.isArray(message.data) && typeof message.data[0] === "string")
    return message.data[0]
  if (message.type === "PEERS" && typeof message.data === "object" && message.data !== null) {
    const address: unknown = (message.data as { address?: unknown }).address
    return typeof address === "string" ? address : undefined
  }
  return undefined
}

const parse = (text: string): Parsed | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null ? value : undefined
  } catch {
    return undefined
  }
}
