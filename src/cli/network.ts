import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option, Schema } from "effect"
import { localAddress } from "../domain/Address.js"
import { countConnectedPairs, pairsOf } from "./meshHealth.js"
import { prepareNetworkFolders } from "./networkFolders.js"
import { launchNodes, waitForNodes } from "./networkNodes.js"
import { type NodeFolder, nodesDirectory } from "./nodeFolders.js"
import { ExitCode, summary } from "./output.js"

const nodes = Options.integer("nodes").pipe(
  Options.withSchema(
    Schema.Int.pipe(Schema.between(1, 50, { message: () => "--nodes takes a whole number from 1 to 50" })),
  ),
  Options.withDescription("how many nodes, 1..50 (default 3)"),
  Options.withDefault(3),
)

/** Polls every node's /status until `done` holds for the answers, or `timeoutMillis` passes. */
const pollUntil = <A, R>(
  probes: ReadonlyArray<Effect.Effect<Option.Option<{ readonly connected: ReadonlyArray<string> }>, never, R>>,
  measure: (answers: ReadonlyArray<Option.Option<{ readonly connected: ReadonlyArray<string> }>>) => A,
  done: (value: A) => boolean,
  onChange: (value: A) => Effect.Effect<void>,
  timeoutMillis: number,
) =>
  Effect.gen(function* () {
    let last: Option.Option<A> = Option.none()
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMillis
    for (;;) {
      const answers = yield* Effect.all(probes, { concurrency: "unbounded" })
      const value = measure(answers)
      if (Option.isNone(last) || JSON.stringify(last.value) !== JSON.stringify(value)) yield* onChange(value)
      last = Option.some(value)
      if (done(value) || (yield* Clock.currentTimeMillis) > deadline) return value
      yield* Effect.sleep("200 millis")
    }
  })

/**
 * Polls every node's /status until all `possible` pairs of nodes are connected, telling each change;
 * for up to 20 s if every node came up, else once. Answers how many pairs are connected.
 */
const waitForMesh = <R>(
  folders: ReadonlyArray<NodeFolder>,
  probes: ReadonlyArray<Effect.Effect<Option.Option<{ readonly connected: ReadonlyArray<string> }>, never, R>>,
  possible: number,
  allUp: boolean,
) => {
  const addresses: ReadonlyArray<string> = folders.map((node) => localAddress(node.port))
  const linked = (answers: ReadonlyArray<Option.Option<{ readonly connected: ReadonlyArray<string> }>>) =>
    countConnectedPairs(
      answers.map((answer, i) => ({
        address: addresses[i] ?? "",
        connected: Option.getOrUndefined(Option.map(answer, (s) => s.connected)),
      })),
    )
  return pollUntil(
    probes,
    linked,
    (n) => n >= possible,
    (n) => Console.log(`node pairs connected: ${n}/${possible}`),
    allUp ? 20_000 : 0,
  )
}

const basePort = Options.integer("base-port").pipe(
  Options.withSchema(
    Schema.Int.pipe(Schema.between(1, 65_000, { message: () => "--base-port takes a port from 1 to 65000" })),
  ),
  Options.withDescription(
    "node-N listens on BASE+N-1: written to each folder's .env, with the known peers that pointed at the old ports",
  ),
  Options.optional,
)
const host = Options.text("host").pipe(
  Options.withDescription(
    "the interface every node listens on (HOST), e.g. 0.0.0.0; default: each .env's, or localhost",
  ),
  Options.optional,
)

/**
 * `network [--nodes N] [--base-port P] [--host H]`: N local nodes in one terminal, prefixed and
 * coloured; Ctrl-C stops them all.
 */
export const networkCommand = Command.make("network", { nodes, basePort, host }, (options) =>
  Effect.gen(function* () {
    const directory = yield* nodesDirectory
    const started = yield* Clock.currentTimeMillis
    const folders = yield* prepareNetworkFolders(directory, options.nodes, options.basePort)
    const launched = yield* launchNodes(folders, options.host)
    const up = yield* waitForNodes(launched)
    const possible = pairsOf(folders.length)
    const connections = yield* waitForMesh(
      folders,
      launched.map((node) => node.probe),
      possible,
      up === folders.length,
    )
    const seconds = (((yield* Clock.currentTimeMillis) - started) / 1000).toFixed(1)
    const first = folders[0]
    yield* summary(
      `network ${up === folders.length && connections >= possible ? "up" : "PARTLY up"}: ${up}/${folders.length} nodes, ` +
        `${connections}/${possible} node pairs connected in ${seconds} s; dashboard http://localhost:${first?.port ?? 4001}/; Ctrl-C stops them all`,
    )
    const codes = yield* Effect.forEach(launched, ({ child }) => child.exitCode, { concurrency: "unbounded" })
    const failed = codes.filter((code) => code !== 0).length
    if (failed > 0) return yield* new ExitCode({ code: 1, message: `${failed} node(s) exited with an error` })
  }).pipe(Effect.scoped),
).pipe(
  Command.withDescription(
    "Starts node-1..node-N in one terminal (creating missing folders) and waits for a full mesh; Ctrl-C stops all.",
  ),
)
