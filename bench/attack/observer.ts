import { request } from "node:http"
import { WebSocket, WebSocketServer } from "ws"
import { addressOf } from "../lib/processes.js"
import { now, sleep } from "../lib/time.js"
import { makeTransactions, openSender, transactionFrame } from "../lib/transactions.js"
import type { AttackNode } from "./nodes.js"

/**
 * A listener the nodes relay to, as to any spec peer: it dials each node with a HANDSHAKE naming
 * itself, the nodes dial back, and every TRANSACTION they relay is noted by node (the node names
 * itself first in its HANDSHAKE) and time. A relayed transaction is one the node took into its pool.
 */
export const openObserver = async (port: number) => {
  const seen = new Map<string, Map<string, number>>()
  const server = new WebSocketServer({ port, host: "localhost", maxPayload: 64 * 1024 * 1024 })
  await new Promise<void>((done) => server.once("listening", () => done()))
  server.on("connection", (socket) => {
    let node: string | undefined
    socket.on("error", () => {})
    socket.on("message", (data) => {
      const text = data.toString()
      if (node === undefined) {
        const first = /^\{"type":"HANDSHAKE","data":\["([^"]+)"/.exec(text.slice(0, 300))?.[1]
        if (first !== undefined) node = first
        return
      }
      if (!text.startsWith('{"type":"TRANSACTION"')) return
      const at = text.lastIndexOf('"hash":"')
      const hash = at < 0 ? undefined : text.slice(at + 8, at + 72)
      if (hash === undefined) return
      const byNode = seen.get(hash) ?? new Map<string, number>()
      if (!byNode.has(node)) byNode.set(node, now())
      seen.set(hash, byNode)
    })
  })
  const introduce = (nodeAddress: string) => {
    const socket = new WebSocket(nodeAddress)
    socket.on("error", () => {})
    socket.once("open", () => {
      socket.send(JSON.stringify({ type: "HANDSHAKE", data: [addressOf(port)] }))
      setTimeout(() => socket.close(), 500)
    })
  }
  return {
    address: addressOf(port),
    seen,
    introduce,
    close: () =>
      new Promise<void>((done) => {
        for (const client of server.clients) client.terminate()
        server.close(() => done())
      }),
  }
}
export type Observer = Awaited<ReturnType<typeof openObserver>>

/** One honest transaction a second into node 1; the time until every node had relayed it (or undefined). */
export const makeProber = async (entry: AttackNode, observer: Observer) => {
  const sender = await openSender(entry.address)
  const probes: Array<{ hash: string; sentAt: number; during: boolean }> = []
  const send = (during: boolean) => {
    const [tx] = makeTransactions(1)
    if (tx === undefined || sender.readyState !== WebSocket.OPEN) return
    probes.push({ hash: tx.hash, sentAt: now(), during })
    sender.send(transactionFrame(tx))
  }
  const latencyOf = (probe: { hash: string; sentAt: number }, nodes: ReadonlyArray<AttackNode>) => {
    const byNode = observer.seen.get(probe.hash)
    const times = nodes.map((node) => byNode?.get(node.address))
    return times.every((time) => time !== undefined)
      ? Math.max(...times.map((t) => (t ?? 0) - probe.sentAt))
      : undefined
  }
  return { probes, send, latencyOf, close: () => sender.terminate() }
}

/** GET /status of a node on 127.0.0.1: its connected addresses, or undefined. */
const connectedOf = (node: AttackNode): Promise<ReadonlyArray<string> | undefined> =>
  new Promise((done) => {
    const req = request({ host: "127.0.0.1", port: node.port, path: "/status", timeout: 1_000 }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        body += chunk
      })
      response.on("end", () => {
        try {
          const status: unknown = JSON.parse(body)
          const connected =
            typeof status === "object" && status !== null && "connected" in status ? status.connected : undefined
          done(Array.isArray(connected) ? connected.filter((c): c is string => typeof c === "string") : undefined)
        } catch {
          done(undefined)
        }
      })
    })
    req.on("error", () => done(undefined))
    req.on("timeout", () => req.destroy())
    req.end()
  })

/** Waits until every node lists every other one as connected; the bench-clock time, or undefined after `timeoutMs`. */
export const waitForMesh = async (nodes: ReadonlyArray<AttackNode>, timeoutMs: number): Promise<number | undefined> => {
  const deadline = now() + timeoutMs
  while (now() < deadline) {
    const lists = await Promise.all(nodes.map(connectedOf))
    const full = lists.every(
      (list, i) => list !== undefined && nodes.every((other, j) => i === j || list.includes(other.address)),
    )
    if (full) return now()
    await sleep(100)
  }
  return undefined
}
