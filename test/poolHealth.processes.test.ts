import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { expect, it } from "vitest"
import { WebSocket } from "ws"
import { makeTransaction } from "../src/domain/Transaction.js"
import { freePort } from "./support/freePort.js"
import { cleanedUpAfterAll, messageText, waitListening, writeNodeFolder } from "./support/processes.js"

/** A node process whose pool cannot be written: degraded while it runs, a non-zero exit when it stops. */

const { start, nodesDir } = cleanedUpAfterAll()

const send = (port: number, frame: unknown) =>
  new Promise<void>((resolve, reject) => {
    const socket = new WebSocket(`ws://localhost:${port}`)
    socket.once("error", reject)
    socket.once("open", () => {
      socket.send(JSON.stringify(frame))
      socket.close()
    })
    socket.once("close", () => resolve())
  })

it("a node that stops with transactions it never wrote says how many and exits non-zero", async () => {
  const dir = await nodesDir()
  const port = await freePort()
  const folder = await writeNodeFolder(dir, "node", { port, knownPeers: [] })
  const node = start(folder)
  await waitListening(node)
  // The temporary file's path taken by a folder: every write fails, for root too.
  await mkdir(join(folder, `transactions.json.tmp-${node.child.pid}`))
  const tx = makeTransaction({ fromAddress: null, toAddress: "04cafe", amount: 3, timeStamp: Date.now() })
  await send(port, { type: "TRANSACTION", data: tx })
  await node.waitForLog((line) => messageText(line).startsWith("pool write failed"))
  const healthz = await fetch(`http://localhost:${port}/healthz`)
  expect(healthz.status).toBe(503)

  const exit = await node.stop("SIGTERM")
  expect(exit.code, node.output.slice(-5).join("\n")).not.toBe(0)
  const error = await node.waitForLog((line) => messageText(line).startsWith("stopped with 1 transaction not written"))
  expect(error.annotations).toMatchObject({ unwritten: 1 })
  expect(node.lines.filter((line) => messageText(line).startsWith("unexpected failure"))).toEqual([])
}, 60_000)
