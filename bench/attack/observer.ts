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

/** GET /tx/<hash> of a node on 127.0.0.1: whether its pool holds the transaction (false on any error). */
const holds = (node: AttackNode, hash: string): Promise<boolean> =>
  new Promise((done) => {
    const req = request({ host: "127.0.0.1", port: node.port, path: `/tx/${hash}`, timeout: 1_000 }, (response) => {
      response.resume()
      done(response.statusCode === 200)
    })
    req.on("error", () => done(false))
    req.on("timeout", () => req.destroy())
    req.end()
  })

/** How long a probe has to reach every pool: the target. */
const PROBE_DEADLINE_MS = 1_000

interface Probe {
  readonly hash: string
  readonly sentAt: number
  readonly during: boolean
  /** The nodes that had not relayed it by the deadline but held it then (asked by GET /tx/<hash>). */
  readonly heldAtDeadline: Set<string>
}

/**
 * One honest transaction a second into node 1; the time until every node had relayed it (or
 * undefined). A node that has not relayed a probe by the deadline is asked whether its pool holds it:
 * one that caught up by the sync (which does not relay), or whose connection to the observer was not
 * back yet after a restart, counts as reached at the deadline, an upper bound.
 */
export const makeProber = async (nodes: ReadonlyArray<AttackNode>, observer: Observer) => {
  const [entry] = nodes
  if (entry === undefined) throw new Error("no nodes")
  const sender = await openSender(entry.address)
  const probes: Array<Probe> = []
  const checks: Array<Promise<void>> = []
  const relayedAt = (probe: Probe, node: AttackNode) => observer.seen.get(probe.hash)?.get(node.address)
  const checkAtDeadline = async (probe: Probe) => {
    await sleep(PROBE_DEADLINE_MS)
    for (const node of nodes) {
      if (relayedAt(probe, node) === undefined && (await holds(node, probe.hash)))
        probe.heldAtDeadline.add(node.address)
    }
  }
  const send = (during: boolean) => {
    const [tx] = makeTransactions(1)
    if (tx === undefined || sender.readyState !== WebSocket.OPEN) return
    const probe: Probe = { hash: tx.hash, sentAt: now(), during, heldAtDeadline: new Set() }
    probes.push(probe)
    sender.send(transactionFrame(tx))
    checks.push(checkAtDeadline(probe))
  }
  const latencyOf = (probe: Probe) => {
    const times = nodes.map((node) => {
      const at = relayedAt(probe, node)
      if (at !== undefined) return at - probe.sentAt
      return probe.heldAtDeadline.has(node.address) ? PROBE_DEADLINE_MS : undefined
    })
    return times.every((time) => time !== undefined) ? Math.max(...times.map((t) => t ?? 0)) : undefined
  }
  return {
    probes,
    send,
    latencyOf,
    /** Waits for the deadline checks of every probe sent. */
    settled: () => Promise.all(checks),
    close: () => sender.terminate(),
  }
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
