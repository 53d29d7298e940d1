import { WebSocket, WebSocketServer } from "ws"
import { addressOf } from "./processes.js"
import { now, sleep } from "./time.js"

/**
 * The spec's startSocketServerAndHandshake, kept open for repeated asks: a ws server of our own; each
 * ask dials the node, sends a HANDSHAKE listing our address and closes, then waits for the node to dial
 * back and reads the first message it sends on that connection (its HANDSHAKE).
 */
export interface HandshakeProbe {
  readonly ask: (nodeAddress: string, timeoutMs: number) => Promise<ReadonlyArray<string> | undefined>
  readonly close: () => Promise<void>
}

export const openProbe = (port: number): Promise<HandshakeProbe> =>
  new Promise((resolveProbe, rejectProbe) => {
    const server = new WebSocketServer({ port, host: "localhost" })
    let pending: ((addresses: ReadonlyArray<string>) => void) | undefined
    server.on("connection", (socket) => {
      socket.on("error", () => {})
      socket.once("message", (data) => {
        const addresses = handshakeAddresses(data.toString())
        if (addresses !== undefined) pending?.(addresses)
        socket.close()
      })
    })
    server.once("error", rejectProbe)
    server.once("listening", () => {
      const ask = (nodeAddress: string, timeoutMs: number) =>
        new Promise<ReadonlyArray<string> | undefined>((resolveAsk) => {
          const finish = (addresses: ReadonlyArray<string> | undefined) => {
            clearTimeout(timer)
            pending = undefined
            resolveAsk(addresses)
          }
          const timer = setTimeout(() => finish(undefined), timeoutMs)
          pending = finish
          const dialler = new WebSocket(nodeAddress)
          dialler.on("error", () => {})
          dialler.once("open", () => {
            dialler.send(JSON.stringify({ type: "HANDSHAKE", data: [addressOf(port)] }))
            dialler.close()
          })
        })
      const close = () =>
        new Promise<void>((resolveClose) => {
          for (const client of server.clients) client.terminate()
          server.close(() => resolveClose())
        })
      resolveProbe({ ask, close })
    })
  })

const handshakeAddresses = (text: string): ReadonlyArray<string> | undefined => {
  try {
    const message: unknown = JSON.parse(text)
    if (typeof message !== "object" || message === null || !("type" in message) || !("data" in message)) return
    if (message.type !== "HANDSHAKE" || !Array.isArray(message.data)) return
    return message.data.filter((entry): entry is string => typeof entry === "string")
  } catch {
    return undefined
  }
}

export interface MeshTarget {
  readonly address: string
  /** The addresses this node's HANDSHAKE must list once the mesh is complete. */
  readonly expected: ReadonlyArray<string>
}

export interface MeshResult {
  /** Per node, when its HANDSHAKE first listed every expected address (bench clock), if it did. */
  readonly completeAt: ReadonlyArray<number | undefined>
  /** Per node, how many expected addresses its last HANDSHAKE listed. */
  readonly listed: ReadonlyArray<number>
}

/**
 * Asks every node for its HANDSHAKE, over and over (all incomplete nodes at once, one probe server
 * each), until each lists all its expected addresses or the timeout passes.
 */
export const waitForMesh = async (
  targets: ReadonlyArray<MeshTarget>,
  probeBasePort: number,
  timeoutMs: number,
): Promise<MeshResult> => {
  const probes = await Promise.all(targets.map((_, index) => openProbe(probeBasePort + index)))
  const completeAt: Array<number | undefined> = targets.map(() => undefined)
  const listed = targets.map(() => 0)
  const deadline = now() + timeoutMs
  try {
    while (completeAt.includes(undefined) && now() < deadline) {
      await Promise.all(
        targets.map(async (target, index) => {
          const probe = probes[index]
          if (completeAt[index] !== undefined || probe === undefined) return
          const addresses = await probe.ask(target.address, 1_000)
          if (addresses === undefined) return
          listed[index] = target.expected.filter((address) => addresses.includes(address)).length
          if (listed[index] === target.expected.length) completeAt[index] = now()
        }),
      )
      await sleep(1)
    }
  } finally {
    await Promise.all(probes.map((probe) => probe.close()))
  }
  return { completeAt, listed }
}
