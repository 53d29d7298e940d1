import { createServer, type Server } from "node:net"
import type { WebSocket } from "ws"
import { sleep } from "../lib/time.js"
import { makeTransactions, transactionFrame } from "../lib/transactions.js"
import type { AttackNode } from "./nodes.js"
import type { Attack } from "./scenario.js"
import { backOff, closed, goesOn, reconnecting, transactionTo } from "./sockets.js"

const nodeAt = (nodes: ReadonlyArray<AttackNode>, index: number): AttackNode => {
  const node = nodes[index]
  if (node === undefined) throw new Error(`no node ${index + 1}`)
  return node
}

/** No attack: the honest figures the others are read against. */
export const noAttack: Attack = {
  name: "none",
  why: "0 no attack (control)",
  start: async () => ({ stop: async () => "nothing" }),
}

/** 1: valid TRANSACTIONs with a 900 KB toAddress, about 17 a second (the 1,000 a minute). */
export const hugeTransactions: Attack = {
  name: "huge-tx",
  why: "1 huge valid transactions",
  start: async (nodes) => {
    const target = nodeAt(nodes, 0)
    const toAddress = "ab".repeat(450_000)
    let sent = 0
    const stop = reconnecting(1, {
      address: () => target.address,
      retryMillis: 200,
      session: async (socket, stopped) => {
        while (goesOn(socket, stopped)) {
          socket.send(transactionFrame(transactionTo(toAddress)))
          sent++
          await sleep(60)
          await backOff(socket, 16 * 1024 * 1024)
        }
      },
    })
    return {
      stop: async () => {
        await stop()
        return `${sent} transactions of 900 KB sent`
      },
    }
  },
}

/** 2: one IP opens as many WebSocket connections as it can to nodes 1 and 3, reconnecting as they close. */
export const slotHog: Attack = {
  name: "slots",
  why: "2 one IP takes every slot",
  start: async (nodes) => {
    const targets = [nodeAt(nodes, 0), nodeAt(nodes, 2)]
    let opened = 0
    let refused = 0
    let held = 0
    let peakHeld = 0
    const stop = reconnecting(400, {
      address: (attempt) => targets[attempt % 2]?.address ?? "",
      retryMillis: 50,
      onRefused: () => {
        refused++
      },
      session: async (socket, stopped) => {
        opened++
        peakHeld = Math.max(peakHeld, ++held)
        const ended = closed(socket)
        while (goesOn(socket, stopped)) await Promise.race([ended, sleep(500)])
        held--
      },
    })
    return {
      stop: async () => {
        await stop()
        return `${opened} opened (at most ${peakHeld} at once), ${refused} refused`
      },
    }
  },
}

/** Listeners on 127.0.0.10-29 that accept and never answer: dial targets that hang. */
const silentListeners = async (port: number): Promise<Array<Server>> =>
  Promise.all(
    Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<Server>((done) => {
          const server = createServer((socket) => socket.on("error", () => {}))
          server.on("error", () => done(server))
          server.listen(port, `127.0.0.${10 + i}`, () => done(server))
        }),
    ),
  )

/** 3: 20 sockets each send a HANDSHAKE of 1,000 fresh loopback addresses a second to node 1. */
export const addressPoisoning: Attack = {
  name: "poison",
  why: "3 HANDSHAKE address poisoning",
  start: async (nodes, basePort) => {
    const target = nodeAt(nodes, 0)
    const silent = await silentListeners(basePort + 8)
    let handshakes = 0
    const fresh = () => {
      const r = Math.floor(Math.random() * 2 ** 24)
      // One in ten hangs (a silent listener), the rest are closed ports somewhere in 127.0.0.0/8.
      return Math.random() < 0.1
        ? `ws://127.0.0.${10 + (r % 20)}:${basePort + 8}`
        : `ws://127.${(r >> 16) & 255}.${(r >> 8) & 255}.${Math.max(2, r & 255)}:${basePort + 7}`
    }
    const stop = reconnecting(20, {
      address: () => target.address,
      retryMillis: 200,
      session: async (socket, stopped) => {
        while (goesOn(socket, stopped)) {
          socket.send(JSON.stringify({ type: "HANDSHAKE", data: Array.from({ length: 1_000 }, fresh) }))
          handshakes++
          await sleep(1_000)
        }
      },
    })
    return {
      stop: async () => {
        await stop()
        for (const server of silent) server.close()
        return `${handshakes} HANDSHAKEs of 1,000 addresses`
      },
    }
  },
}

/** The pool every node starts with in the sync scenario: 20,000 transactions (about 9 MB of inventory). */
const syncPool = makeTransactions(20_000)

/** 4: wrong-digest summaries, greedy page asks, empty SYNC_HASHES and SYNC_REQUESTs, reconnecting every 2 s. */
export const syncAmplification: Attack = {
  name: "sync",
  why: "4 sync amplification",
  nodeOptions: () => ({ pool: syncPool }),
  start: async (nodes) => {
    const target = nodeAt(nodes, 0)
    const wrong = { count: 0, digest: "0".repeat(64) }
    let bytesOut = 0
    let bytesIn = 0
    const send = (socket: WebSocket, message: unknown) => {
      const frame = JSON.stringify(message)
      bytesOut += frame.length
      socket.send(frame)
    }
    const stop = reconnecting(4, {
      address: () => target.address,
      retryMillis: 200,
      session: async (socket) => {
        socket.on("message", (data: Buffer) => {
          bytesIn += data.length
          const text = data.toString()
          if (!text.startsWith('{"type":"SYNC_HASHES"')) return
          const page = JSON.parse(text).data as { to: string | null; hashes: Array<string> }
          if (page.to !== null) send(socket, { type: "SYNC_SUMMARY", data: { ...wrong, from: page.to } })
          send(socket, { type: "SYNC_REQUEST", data: page.hashes.slice(0, 4096) })
        })
        send(socket, { type: "HANDSHAKE", data: [] })
        for (let i = 0; i < 8; i++) send(socket, { type: "SYNC_SUMMARY", data: wrong })
        send(socket, { type: "SYNC_HASHES", data: { from: "", to: null, hashes: [] } })
        await Promise.race([closed(socket), sleep(2_000)])
      },
    })
    return {
      stop: async () => {
        await stop()
        const ratio = bytesOut === 0 ? 0 : bytesIn / bytesOut
        return `sent ${(bytesOut / 1024).toFixed(0)} kB, got ${(bytesIn / 1024 / 1024).toFixed(1)} MB (${ratio.toFixed(0)}x)`
      },
    }
  },
}

/** 5: 20 sockets send frames that are not messages as fast as the node reads, reconnecting when closed. */
export const invalidFrames = (targetIndex: number, name: string, why: string): Attack => ({
  name,
  why,
  start: async (nodes) => {
    const target = nodeAt(nodes, targetIndex)
    let frames = 0
    let connections = 0
    const junk = ["not json", '{"type":"TRANSACTION","data":{"amount":-1}}', '{"nope":1}']
    const stop = reconnecting(20, {
      address: () => target.address,
      retryMillis: 100,
      session: async (socket, stopped) => {
        connections++
        while (goesOn(socket, stopped)) {
          for (let i = 0; i < 50; i++) socket.send(junk[frames++ % junk.length] ?? "")
          await backOff(socket, 64 * 1024)
          await sleep(1)
        }
      },
    })
    return {
      stop: async () => {
        await stop()
        return `${frames} bad frames on ${connections} connections`
      },
    }
  },
})
