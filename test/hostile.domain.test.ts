import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { makeAddressParser, parseAddress } from "../src/domain/Address.js"
import { screenAddresses } from "../src/domain/addressList.js"
import { exceedsJsonDepth } from "../src/domain/jsonDepth.js"
import { parseKnownPeersFile } from "../src/domain/knownPeersFile.js"
import { parsePort } from "../src/domain/port.js"
import { mayBeFrom } from "../src/domain/remoteHost.js"
import { pickEviction } from "../src/domain/slotEviction.js"
import { fullBucket, takeToken } from "../src/domain/tokenBucket.js"

describe("addresses", () => {
  it.each([
    ["ws://localhost:4001", "ws://localhost:4001"],
    ["ws://localhost:4001/", "ws://localhost:4001"],
    ["WS://LOCALHOST:4001", "ws://localhost:4001"],
    ["wss://Example.COM:443/", "wss://example.com:443"],
    ["ws://127.0.0.1:65535", "ws://127.0.0.1:65535"],
    ["ws://[::1]:4001", "ws://[::1]:4001"],
    ["ws://[0:0:0:0:0:0:0:1]:4001", "ws://[::1]:4001"],
    ["ws://node_2.local:1", "ws://node_2.local:1"],
  ])("%s is the peer %s", (input, normalised) => {
    expect(parseAddress(input)).toEqual(Either.right(normalised))
  })

  it.each([
    [42, "not a string"],
    [null, "not a string"],
    [`ws://${"a".repeat(3000)}:1`, "too long"],
    [" ws://localhost:4001", "whitespace or non-ASCII characters"],
    ["ws://localhost:4001\n", "whitespace or non-ASCII characters"],
    ["ws://local host:4001", "whitespace or non-ASCII characters"],
    ["ws://localhost:４００１", "whitespace or non-ASCII characters"],
    ["http://localhost:4001", "not a ws:// or wss:// URL"],
    ["file:///etc/passwd", "not a ws:// or wss:// URL"],
    ["javascript:alert(1)", "not a ws:// or wss:// URL"],
    ["ws:/localhost:4001", "not a ws:// or wss:// URL"],
    ["localhost:4001", "not a ws:// or wss:// URL"],
    ["", "not a ws:// or wss:// URL"],
    ["ws://user:pass@localhost:4001", "credentials are not allowed"],
    ["ws://localhost:4001@127.0.0.1:7250", "credentials are not allowed"],
    ["ws://:4001", "missing host"],
    ["ws://localhost", "missing port"],
    ["ws://localhost:", "missing port"],
    ["ws://localhost:0", "port out of range"],
    ["ws://localhost:65536", "port out of range"],
    ["ws://localhost:72786", "port out of range"],
    ["ws://localhost:07250", "invalid port"],
    ["ws://localhost:4001:4001", "invalid port"],
    ["ws://localhost:+4001", "invalid port"],
    ["ws://localhost:0x10", "invalid port"],
    ["ws://127.1:4001", "invalid host"],
    ["ws://2130706433:4001", "invalid host"],
    ["ws://0x7f.0.0.1:4001", "invalid host"],
    ["ws://%6cocalhost:4001", "invalid host"],
    ["ws://[fe80::1%25eth0]:4001", "invalid host"],
    ["ws://[::1]4001", "invalid host"],
    ["ws://0.0.0.0:4001", "unspecified host (0.0.0.0 or [::])"],
    ["ws://[::]:4001", "unspecified host (0.0.0.0 or [::])"],
    ["ws://localhost:4001/path", "paths, queries and fragments are not allowed"],
    ["ws://localhost:4001//", "paths, queries and fragments are not allowed"],
    ["ws://localhost:4001?x=1", "paths, queries and fragments are not allowed"],
    ["ws://localhost:4001#top", "paths, queries and fragments are not allowed"],
    ["ws://localhost\\:4001", "paths, queries and fragments are not allowed"],
  ])("%j is refused: %s", (input, problem) => {
    expect(parseAddress(input)).toEqual(Either.left(problem))
  })

  it("a handshake's list is cut at the limit, deduplicated and its refusals kept with their reasons", () => {
    const screened = screenAddresses(
      ["ws://a:1", "WS://A:1/", { host: "a" }, "http://b:2", "ws://c:3", "ws://d:4", "ws://e:5"],
      5,
    )
    expect(screened.addresses).toEqual(["ws://a:1", "ws://c:3"])
    expect(screened.refused).toEqual([
      { address: '{"host":"a"}', reason: "not a string" },
      { address: "http://b:2", reason: "not a ws:// or wss:// URL" },
    ])
    expect(screened.dropped).toBe(2)
  })

  it("a node's cached parser answers as parseAddress does, for any input, and keeps a bounded number", () => {
    const parse = makeAddressParser(2)
    const inputs = ["ws://a:1", "WS://A:1/", "http://b:2", 7, "ws://a:1", `ws://${"x".repeat(3_000)}:1`, "ws://c:3"]
    for (const input of inputs) expect(parse(input)).toEqual(parseAddress(input))
    // Through a handshake's screening too.
    expect(screenAddresses(["ws://a:1", "WS://A:1/", "ws://d:4"], 5, parse).addresses).toEqual(["ws://a:1", "ws://d:4"])
  })

  it("a refused entry is shown cut short", () => {
    const [refused] = screenAddresses([`http://${"x".repeat(10_000)}`], 10).refused
    expect(refused?.address.length).toBeLessThanOrEqual(201)
  })
})

describe("JSON depth", () => {
  it("counts arrays and objects, not brackets inside strings", () => {
    expect(exceedsJsonDepth('{"type":"HANDSHAKE","data":["ws://a:1"]}', 2)).toBe(false)
    expect(exceedsJsonDepth('{"type":"HANDSHAKE","data":[["ws://a:1"]]}', 2)).toBe(true)
    expect(exceedsJsonDepth('{"a":"[[[[[[{{{{{{\\"[[["}', 1)).toBe(false)
    expect(exceedsJsonDepth(`${"[".repeat(100_000)}${"]".repeat(100_000)}`, 32)).toBe(true)
    expect(exceedsJsonDepth(`${"[".repeat(32)}${"]".repeat(32)}`, 32)).toBe(false)
  })
})

describe("token bucket", () => {
  it("allows a burst, then the sustained rate", () => {
    const rate = { capacity: 3, perSecond: 2 }
    let bucket = fullBucket(rate, 0)
    const takes: Array<boolean> = []
    for (const now of [0, 0, 0, 0, 499, 500, 1000, 1000]) {
      const [allowed, next] = takeToken(bucket, rate, now)
      bucket = next
      takes.push(allowed)
    }
    expect(takes).toEqual([true, true, true, false, false, true, true, false])
  })
})

describe("configuration values", () => {
  it.each([
    ["4001", Either.right(4001)],
    [" 4001 ", Either.right(4001)],
    ["abc", Either.left('PORT "abc" is not a number')],
    ["4.5", Either.left('PORT "4.5" is not a number')],
    ["", Either.left('PORT "" is not a number')],
    ["0", Either.left("PORT 0 is out of range: a port is 1 to 65535")],
    ["70000", Either.left("PORT 70000 is out of range: a port is 1 to 65535")],
  ])("PORT=%j", (text, expected) => {
    expect(parsePort(text)).toEqual(expected)
  })

  it.each([
    ['["ws://localhost:4001"]', Either.right(["ws://localhost:4001"])],
    ["nope", "is not valid JSON"],
    ['{"peers":[]}', "must be a JSON array of address strings, but it holds an object"],
    ['"ws://localhost:4001"', "must be a JSON array of address strings, but it holds a string"],
    ['["ws://localhost:4001", 4002]', "must be a JSON array of address strings, but entry 1 is a number"],
    ["[null]", "must be a JSON array of address strings, but entry 0 is null"],
  ])("known-peers.json %s", (text, expected) => {
    const parsed = parseKnownPeersFile(text)
    if (typeof expected === "string") {
      expect(Either.isLeft(parsed) && parsed.left.startsWith(expected)).toBe(true)
    } else {
      expect(parsed).toEqual(expected)
    }
  })
})

describe("who a peer may be (one connection per pair: src/protocol/pairing.ts)", () => {
  it.each([
    ["ws://localhost:4001", "127.0.0.1", true],
    ["ws://localhost:4001", "::ffff:127.0.0.1", true],
    ["ws://localhost:4001", "::1", true],
    ["ws://127.0.0.1:4001", "127.0.0.1", true],
    ["ws://[::1]:4001", "127.0.0.1", true],
    ["ws://10.0.0.8:4001", "10.0.0.8", true],
    ["ws://10.0.0.8:4001", "::ffff:10.0.0.8", true],
    ["ws://[fd00::8]:4001", "fd00::8", true],
    ["ws://localhost:4001", "10.0.0.9", false],
    ["ws://10.0.0.8:4001", "10.0.0.9", false],
    ["ws://10.0.0.8:4001", "127.0.0.1", false],
    ["ws://node-2.example:4001", "10.0.0.8", false],
    ["ws://node-2.example:4001", "127.0.0.1", false],
  ])("%s from %s: %s", (address, remoteIp, expected) => {
    const parsed = Either.getOrThrow(parseAddress(address))
    expect(mayBeFrom(parsed, remoteIp)).toBe(expected)
  })

  it("a transport without IPs cannot tell: believed", () => {
    expect(mayBeFrom(Either.getOrThrow(parseAddress("ws://localhost:4001")), undefined)).toBe(true)
  })
})

describe("which inbound peer makes room when the slots are full", () => {
  const holder = (ip: string, serial: number, named = false) => ({ ip, serial, named })

  it("the crowded IP loses its newest connection; named peers and the oldest half are kept", () => {
    const honest = holder("10.0.0.1", 0)
    const ours = holder("10.0.0.9", 1, true)
    const flood = [2, 3, 4, 5].map((serial) => holder("10.6.6.6", serial))
    const [firstOfFlood] = flood
    const other = holder("10.0.0.2", 6)
    // Unnamed, oldest first: honest, the four of the flood, other; the oldest three are kept.
    expect(pickEviction([honest, ours, ...flood, other])).toBe(flood[3])
    // honest is kept; flood[0] and other are one each: the newer goes.
    expect(pickEviction([honest, ours, ...(firstOfFlood ? [firstOfFlood] : []), other])).toBe(other)
  })

  it("nobody when every peer is protected", () => {
    expect(pickEviction([holder("10.0.0.1", 0, true), holder("10.0.0.2", 1, true)])).toBeUndefined()
    expect(pickEviction([holder("10.0.0.1", 0)])).toBeUndefined()
    expect(pickEviction([])).toBeUndefined()
  })
})
