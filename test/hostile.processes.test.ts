import { createServer, type Server } from "node:net"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { makeTransaction, Transaction } from "../src/domain/Transaction.js"
import { freePort } from "./support/freePort.js"
import {
  eventually,
  type LogLine,
  makeNodesDir,
  messageText,
  type NodeProcess,
  readPool,
  startNodeProcess,
  waitListening,
  writeNodeFolder,
} from "./support/processes.js"
import { probeHandshake } from "./support/specHelpers.js"

/**
 * One real node process takes 200 hostile frames of every kind, handshakes naming http:// and file://
 * targets and a real listening port disguised in malformed addresses, then must still answer the
 * spec's handshake probe, hold exactly the valid transactions in a pool file that parses, and never
 * have touched the disguised port.
 */
const MAX_PAYLOAD = 65_536
let node: NodeProcess
let nodeAddress = ""
let trap: Server
let trapPort = 0
let trapConnections = 0

/** A TCP port that counts every connection made to it, on IPv4 and IPv6 loopback where there is one. */
const listenTrap = async (): Promise<Server> => {
  const server = createServer((socket) => {
    trapConnections++
    socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen({ port: 0, host: "::", ipv6Only: false }, () => resolve())
  }).catch(
    () =>
      new Promise<void>((resolve) => {
        server.listen({ port: 0, host: "127.0.0.1" }, () => resolve())
      }),
  )
  return server
}

const open = (address: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(address)
    socket.once("open", () => resolve(socket))
    socket.once("error", reject)
  })

const closed = (socket: WebSocket): Promise<number> =>
  new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve(-1)
    socket.once("close", (code) => resolve(code))
  })

/** Sends frames on one fresh connection, then closes it once they are out. */
const sendOn = async (frames: ReadonlyArray<string | Buffer>) => {
  const socket = await open(nodeAddress)
  await Promise.all(
    frames.map(
      (frame) =>
        new Promise<void>((resolve) => socket.send(frame, { binary: typeof frame !== "string" }, () => resolve())),
    ),
  )
  socket.close()
  await closed(socket)
}

const now = Date.now()
const tx = (amount: number, timeStamp = now): Transaction =>
  makeTransaction({ fromAddress: null, toAddress: "04ab", amount, timeStamp })
const txFrame = (data: unknown) => JSON.stringify({ type: "TRANSACTION", data })
const isValidPoolEntry = Schema.is(Transaction)

beforeAll(async () => {
  trap = await listenTrap()
  const address = trap.address()
  trapPort = typeof address === "object" && address !== null ? address.port : 0
  const port = await freePort()
  nodeAddress = `ws://localhost:${port}`
  const folder = await writeNodeFolder(await makeNodesDir(), "node-1", {
    port,
    knownPeers: [],
    // Every bad frame here comes from 127.0.0.1, on connections it reopens: the IP ban (its own test,
    // test/admission.test.ts) would end the test early, so its score is set out of reach.
    env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD), BAN_SCORE: "1000000" },
  })
  node = startNodeProcess(folder)
  await waitListening(node)
})

afterAll(async () => {
  await node?.stop("SIGTERM")
  await new Promise((resolve) => trap?.close(resolve))
})

const refused = (line: LogLine) => messageText(line) === "frame refused"

describe("a real node under hostile input", () => {
  it("refuses 200 hostile frames one line each, stays up, keeps its pool clean and never dials a disguised target", async () => {
    const valid = [tx(11), tx(12), tx(13), tx(14), tx(15)]
    const good = tx(20)
    const disguised = [
      `http://localhost:${trapPort}`,
      `file://localhost:${trapPort}/etc/passwd`,
      `file:///etc/passwd`,
      `javascript:fetch('http://localhost:${trapPort}')`,
      `ws://localhost:${trapPort}/path`,
      `ws://user:pw@localhost:${trapPort}`,
      `ws://localhost:${trapPort}@127.0.0.1:${trapPort}`,
      `ws://localhost:0${trapPort}`,
      `ws://localhost:${trapPort + 65_536}`,
      `ws://127.1:${trapPort}`,
      `ws://2130706433:${trapPort}`,
      `ws://0.0.0.0:${trapPort}`,
      `ws://[::]:${trapPort}`,
      `ws:/localhost:${trapPort}`,
      ` ws://localhost:${trapPort}`,
      `ws://localhost:${trapPort} `,
      `ws://localhost:${trapPort}?x`,
      `ws://localhost:${trapPort}#x`,
      `ws://localhost\\:${trapPort}`,
      `ws://localhost:${trapPort}:${trapPort}`,
      `ws://local host:${trapPort}`,
      { url: `ws://localhost:${trapPort}` },
    ]
    // Each kind of bad frame, with the reason its refusal line must give (undefined: not a "frame refused").
    const kinds: ReadonlyArray<readonly [string | undefined, () => string | Buffer]> = [
      ["not JSON", () => "hello, node"],
      ["not JSON", () => '{"type":"TRANSACTION","data":'],
      ["binary frame", () => Buffer.from([0, 1, 2, 255])],
      ["no message type", () => "[]"],
      ["no message type", () => JSON.stringify({ data: ["ws://localhost:1"] })],
      ["invalid message", () => JSON.stringify({ type: "HANDSHAKE", data: `ws://localhost:${trapPort}` })],
      ["invalid message", () => txFrame({ ...good, amount: 21 })],
      ["invalid message", () => txFrame({ ...tx(-5), amount: -5 })],
      ["invalid message", () => txFrame(good).replace('"amount":20', '"amount":1e999')],
      ["invalid message", () => txFrame({ ...good, timeStamp: "yesterday" })],
      ["too deeply nested", () => `{"type":"HANDSHAKE","data":${"[".repeat(20_000)}${"]".repeat(20_000)}}`],
      [undefined, () => JSON.stringify({ type: "GOSSIP_V2", data: { anything: true } })],
      [undefined, () => txFrame(tx(30, now + 3 * 60 * 60 * 1000))],
      [undefined, () => JSON.stringify({ type: "HANDSHAKE", data: disguised })],
      [undefined, () => JSON.stringify({ type: "HANDSHAKE", data: Array.from({ length: 1_500 }, () => "http://x:1") })],
    ]
    const frames: Array<readonly [string | undefined, string | Buffer]> = []
    for (let i = 0; frames.length < 190; i++) {
      const [reason, make] = kinds[i % kinds.length] ?? [undefined, () => ""]
      frames.push([reason, make()])
    }
    // Ten oversized frames: ws ends each connection, so each goes on its own.
    const oversized = Array.from({ length: 10 }, () => "x".repeat(MAX_PAYLOAD + 1))
    const started = Date.now()

    // Batches of ten on fresh connections (inside the bad-frame budget), a valid transaction in some.
    for (let batch = 0; batch < frames.length / 10; batch++) {
      const slice = frames.slice(batch * 10, batch * 10 + 10).map(([, frame]) => frame)
      const extra = valid[batch]
      await sendOn(extra === undefined ? slice : [...slice, txFrame(extra)])
    }
    for (const frame of oversized) {
      const socket = await open(nodeAddress)
      socket.send(frame)
      expect(await closed(socket)).toBe(1009)
    }
    // A peer that keeps sending bad frames is cut off.
    const flooder = await open(nodeAddress)
    let sent = 0
    const floodClosed = closed(flooder)
    for (; sent < 1_000 && flooder.readyState === WebSocket.OPEN; sent++) {
      flooder.send(`flood ${sent}`)
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await floodClosed
    await node.waitForLog((line) => messageText(line) === "peer disconnected: too many bad frames", 10_000)

    const expectedRefusals = frames.filter(([reason]) => reason !== undefined).length + oversized.length
    const fromFlood = (line: LogLine) => String(line.annotations.detail).includes('"flood ')
    await eventually(
      () =>
        node.lines.filter((line) => refused(line) && !fromFlood(line)).length >= expectedRefusals ? true : undefined,
      15_000,
      "every refusal to be logged",
    )
    const elapsed = Date.now() - started
    console.log(
      `hostile: ${frames.length + oversized.length} hostile frames and a flood of ${sent} in ${elapsed} ms; ` +
        `${node.lines.filter(refused).length} refusal lines`,
    )

    // One line per bad frame, naming the peer, the reason and the limit.
    // The flooder got its budget (20 a minute) and one more, then was cut off.
    expect(node.lines.filter((line) => refused(line) && fromFlood(line)).length).toBeGreaterThanOrEqual(21)
    expect(node.lines.filter((line) => refused(line) && fromFlood(line)).length).toBeLessThan(sent)
    const lines = node.lines.filter((line) => refused(line) && !fromFlood(line))
    for (const line of lines) {
      expect(line.logLevel).toBe("WARN")
      expect(line.annotations.remote).toMatch(/:\d+$/)
      expect(line.annotations.reason).toEqual(expect.any(String))
      expect(line.annotations.limit).toEqual(expect.any(String))
    }
    const count = (reason: string) => lines.filter((line) => line.annotations.reason === reason).length
    for (const reason of ["not JSON", "binary frame", "no message type", "invalid message", "too deeply nested"]) {
      const sentOfKind = frames.filter(([r]) => r === reason).length
      expect(count(reason), reason).toBe(sentOfKind)
    }
    expect(count("too large")).toBe(oversized.length)
    expect(lines.find((line) => line.annotations.reason === "too large")?.annotations.limit).toBe(
      `${MAX_PAYLOAD} bytes`,
    )
    expect(node.lines.some((line) => messageText(line) === "transaction refused")).toBe(true)
    expect(node.lines.some((line) => messageText(line) === "handshake addresses dropped")).toBe(true)
    const addressRefusals = node.lines.filter((line) => messageText(line) === "address refused")
    expect(addressRefusals.length).toBeGreaterThan(0)

    // Still a spec node: it answers the spec's probe.
    const probePort = await freePort()
    const probe = await probeHandshake({ myPort: probePort, theirAddress: nodeAddress })
    expect(probe.type).toBe("HANDSHAKE")
    expect(probe.data).toContain(nodeAddress)

    // Its pool parses, holds only valid transactions, and exactly the valid ones it was sent.
    const pool = await eventually(
      async () => {
        const entries = await readPool(node.folder)
        return entries.length >= valid.length ? entries : undefined
      },
      10_000,
      "the valid transactions in the pool file",
    )
    expect(pool.every(isValidPoolEntry)).toBe(true)
    expect(pool.map((entry) => entry.hash).sort()).toEqual(valid.map((t) => t.hash).sort())

    // Nothing ever connected to the disguised port, and the only address the node dialled is the probe's.
    expect(trapConnections).toBe(0)
    const dialled = new Set(
      node.lines.filter((line) => messageText(line) === "dial started").map((l) => l.annotations.peer),
    )
    expect([...dialled]).toEqual([`ws://localhost:${probePort}`])
    expect(node.child.exitCode).toBeNull()
  })
})
