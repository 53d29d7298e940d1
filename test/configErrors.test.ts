import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { describeConfigProblem, oneLineParseError } from "../src/domain/configProblem.js"
import { Transaction } from "../src/domain/Transaction.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"

/** A node folder whose .env holds `env` after PORT=7201. */
const folderWith = (env: string, knownPeers = "[]") =>
  Effect.promise(async () => {
    const folder = await mkdtemp(join(tmpdir(), "meshnode-config-"))
    await writeFile(join(folder, ".env"), `PORT=7201\n${env}\n`)
    await writeFile(join(folder, "known-peers.json"), knownPeers)
    return folder
  })

const messageOf = (folder: string) =>
  NodeConfigFolder.make(folder).pipe(
    Effect.provide(NodeContext.layer),
    Effect.either,
    Effect.map((result) => (Either.isLeft(result) ? result.left.message : "started")),
  )

describe("configuration errors are one line: where, the key, the value and an example", () => {
  it.effect.each([
    ["MAX_PEERS=x", 'MAX_PEERS="x" in {env} is not valid (expected an integer value): set e.g. MAX_PEERS=8'],
    [
      "MAX_PEERS=1",
      'MAX_PEERS="1" in {env} is not valid (MAX_PEERS must be a whole number of at least 2): set e.g. MAX_PEERS=8',
    ],
    [
      "GOSSIP_MODE=loud",
      'GOSSIP_MODE="loud" in {env} is not valid (expected one of (pruned, flood)): set e.g. GOSSIP_MODE=pruned',
    ],
    [
      "SHARE_CONNECTIONS=perhaps",
      'SHARE_CONNECTIONS="perhaps" in {env} is not valid (expected a boolean value): set e.g. SHARE_CONNECTIONS=',
    ],
    [
      "ADVERTISED_ADDRESS=http://x",
      'ADVERTISED_ADDRESS="http://x" in {env} is not valid (a ws://host:port address that other nodes can dial: not a ws:// or wss:// URL): set e.g. ADVERTISED_ADDRESS=ws://meshnode-1.example.org:7201',
    ],
  ] as const)("%s", ([env, expected]) =>
    Effect.gen(function* () {
      const folder = yield* folderWith(env)
      const message = yield* messageOf(folder)
      expect(message).toContain(expected.replace("{env}", join(folder, ".env")))
      expect(message).not.toContain("\n")
    }),
  )

  it.effect("a known-peers.json that is not an array says what to write", () =>
    Effect.gen(function* () {
      const folder = yield* folderWith("", '"ws://localhost:4001"')
      expect(yield* messageOf(folder)).toBe(
        `${join(folder, "known-peers.json")} must be a JSON array of address strings, but it holds a string: write a JSON array of peer addresses, e.g. ["ws://localhost:4001"], or [] for none`,
      )
    }),
  )

  it("a pool entry's problem is named by its index and field, in one line", () => {
    const decode = Schema.decodeUnknownEither(Schema.parseJson(Schema.Array(Transaction)), { errors: "first" })
    const problem = (text: string) => {
      const decoded = decode(text)
      return Either.isLeft(decoded) ? oneLineParseError(decoded.left) : "valid"
    }
    expect(problem('[{"fromAddress":null,"toAddress":"ab","amount":"x","timeStamp":1,"hash":"aa"}]')).toBe(
      'entry 0, "amount": Expected number, actual "x"',
    )
    expect(problem("{}")).toBe("unexpected {}")
    expect(problem("[{")).toMatch(/^Expected property name|^Unexpected/)
    expect(describeConfigProblem({ key: "K", value: "v", reason: "why", where: "the environment", example: "1" })).toBe(
      'K="v" in the environment is not valid (why): set e.g. K=1',
    )
  })
})
