import { Agent, request } from "node:http"
import { sleep } from "../lib/time.js"
import { transactionFrame } from "../lib/transactions.js"
import type { AttackNode } from "./nodes.js"
import type { Attack } from "./scenario.js"
import { attackerIp, backOff, connectFrom, transactionTo, workers } from "./sockets.js"

/** GET `path` from the attacker's address on a keep-alive agent: status and body size (0, 0 on error). */
const get = (agent: Agent, port: number, path: string): Promise<readonly [number, number]> =>
  new Promise((done) => {
    const req = request(
      { host: "127.0.0.1", port, path, agent, localAddress: attackerIp, timeout: 5_000 },
      (response) => {
        let size = 0
        response.on("data", (chunk: Buffer) => {
          size += chunk.length
        })
        response.on("end", () => done([response.statusCode ?? 0, size]))
      },
    )
    req.on("error", () => done([0, 0]))
    req.on("timeout", () => req.destroy())
    req.end()
  })

/** 6: 20 transactions of 100 KB, then 50 pollers and 8 flooders of GET /status on node 1. */
export const httpFlood: Attack = {
  name: "http",
  why: "6 HTTP floods and big /status",
  start: async (nodes) => {
    const target = nodes[0] as AttackNode
    const socket = await connectFrom(target.address)
    if (typeof socket !== "number") {
      for (let i = 0; i < 20; i++) socket.send(transactionFrame(transactionTo("cd".repeat(50_000))))
      await backOff(socket, 0)
      socket.close()
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 64 })
    const codes = new Map<number, number>()
    let biggest = 0
    const note = ([status, size]: readonly [number, number]) => {
      codes.set(status, (codes.get(status) ?? 0) + 1)
      if (status === 200) biggest = Math.max(biggest, size)
    }
    const pollers = workers(50, async (stopped) => {
      while (!stopped()) {
        note(await get(agent, target.port, "/status"))
        await sleep(1_000)
      }
    })
    const flood = workers(8, async (stopped) => {
      while (!stopped()) note(await get(agent, target.port, "/status"))
    })
    return {
      stop: async () => {
        await Promise.all([pollers(), flood()])
        agent.destroy()
        const byCode = [...codes].map(([code, count]) => `${count}×${code}`).join(" ")
        return `${byCode}; largest /status ${(biggest / 1024).toFixed(1)} kB`
      },
    }
  },
}

/** Keeps one honest-looking but chatty socket open on node 3, so it has things to log. */
export const fullDisk = (invalid: Attack): Attack => ({
  name: "full-disk",
  why: "7 a full disk under the log",
  // Node 3's stdout and stderr are /dev/full: every write fails with ENOSPC.
  nodeOptions: (index) => (index === 2 ? { fullDisk: true } : {}),
  start: invalid.start,
})
