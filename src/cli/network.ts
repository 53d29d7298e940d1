import { Command, Options } from "@effect/cli"
import { type CommandExecutor, type HttpClient, Command as Process } from "@effect/platform"
import { Clock, Console, Effect, Either, Fiber, Option, Schema, Stream } from "effect"
import { localAddress } from "../domain/Address.js"
import type { NodeStatus } from "../domain/NodeStatus.js"
import { countConnectedPairs, pairsOf } from "./meshHealth.js"
import { prepareNetworkFolders } from "./networkFolders.js"
import { nodeProcess } from "./node.js"
import { type NodeFolder, nodesDirectory } from "./nodeFolders.js"
import { colourOn, ExitCode, summary } from "./output.js"
import { fetchStatus } from "./statusClient.js"

const colours = [36, 33, 35, 32, 34, 31]

const nodes = Options.integer("nodes").pipe(
  Options.withSchema(
    Schema.Int.pipe(Schema.between(1, 50, { message: () => "--nodes takes a whole number from 1 to 50" })),
  ),
  Options.withDescription("how many nodes, 1..50 (default 3)"),
  Options.withDefault(3),
)

/** Starts one node as a child process, every line of its output prefixed with its name. */
const startNode = (node: NodeFolder, colour: number, host: Option.Option<string>) =>
  Effect.gen(function* () {
    const command = yield* nodeProcess(
      node.folder,
      Option.match(host, { onNone: () => [], onSome: (h) => ["--host", h] }),
    )
    const child = yield* command.pipe(Process.env({ FORCE_COLOR: process.env.FORCE_COLOR ?? "" }), Process.start)
    const prefix = colourOn(process.stdout) ? `\x1b[${colour}m[${node.name}]\x1b[0m ` : `[${node.name}] `
    const relay = (stream: Stream.Stream<Uint8Array, unknown>) =>
      stream.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.runForEach((line) => Console.log(prefix + line)),
        Effect.ignore,
      )
    const relays = [yield* Effect.forkScoped(relay(child.stdout)), yield* Effect.forkScoped(relay(child.stderr))]
    return { node, child, relays }
  })

type RunningNode = Effect.Effect.Success<ReturnType<typeof startNode>>

/**
 * Stops one node as Ctrl-C would (the nodes run in their own process groups, so the terminal's
 * signal reaches only this CLI) and relays its output to the end: its stopping/stopped lines show.
 */
const stopNode = (started: RunningNode) =>
  started.child.kill("SIGTERM").pipe(
    Effect.ignore,
    Effect.zipRight(Effect.forEach(started.relays, Fiber.await, { discard: true })),
    Effect.zipRight(Effect.either(started.child.exitCode)),
    Effect.timeoutOption("10 seconds"),
    Effect.map((exit) => `${started.node.name} ${describeExit(exit)}`),
  )

const describeExit = (exit: Option.Option<Either.Either<number, unknown>>): string =>
  Option.match(exit, {
    onNone: () => "did not stop within 10 s",
    onSome: Either.match({
      onLeft: () => "was killed",
      onRight: (code) => (code === 0 ? "stopped" : `exited with code ${code}`),
    }),
  })

/** Polls one node until it answers /status (true), its process exits or `timeoutMillis` passes (false). */
const waitUntilUp = <R>(
  probe: Effect.Effect<Option.Option<unknown>, never, R>,
  child: CommandExecutor.Process,
  timeoutMillis: number,
) =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMillis
    for (;;) {
      if (Option.isSome(yield* probe)) return true
      const running = yield* Effect.orElseSucceed(child.isRunning, () => false)
      if (!running || (yield* Clock.currentTimeMillis) > deadline) return false
      yield* Effect.sleep("100 millis")
    }
  })

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
    // All at once: a node redials known peers that are not up yet, so start order does not matter.
    const children: Array<CommandExecutor.Process> = []
    const nodesStarted: Array<RunningNode> = []
    const probes: Array<Effect.Effect<Option.Option<NodeStatus>, never, HttpClient.HttpClient>> = []
    for (const [i, node] of folders.entries()) {
      yield* Console.log(`starting ${node.name} (:${node.port})`)
      const launched = yield* startNode(node, colours[i % colours.length] ?? 36, options.host)
      const child = launched.child
      nodesStarted.push(launched)
      children.push(child)
      // A node whose process has exited is down, even if something else answers on its port.
      probes.push(
        Effect.flatMap(
          Effect.orElseSucceed(child.isRunning, () => false),
          (running) => (running ? fetchStatus(node.port, "1 second") : Effect.succeedNone),
        ),
      )
    }
    // Ctrl-C (or SIGTERM): every node stops at once, and its last lines show before this CLI exits.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(nodesStarted, stopNode, { concurrency: "unbounded" }).pipe(
        Effect.flatMap((lines) => summary(`network stopped: ${lines.join(", ")}`)),
      ),
    )
    let up = 0
    yield* Effect.forEach(
      folders,
      (node, i) =>
        Effect.gen(function* () {
          const [probe, child] = [probes[i], children[i]]
          if (probe === undefined || child === undefined) return
          if (yield* waitUntilUp(probe, child, 30_000)) {
            up++
            yield* Console.log(`nodes up: ${up}/${folders.length}`)
          } else {
            yield* Console.log(`${node.name} did not come up; see its output above`)
          }
        }),
      { concurrency: "unbounded", discard: true },
    )
    const addresses: ReadonlyArray<string> = folders.map((node) => localAddress(node.port))
    const possible = pairsOf(folders.length)
    const linked = (answers: ReadonlyArray<Option.Option<{ readonly connected: ReadonlyArray<string> }>>) =>
      countConnectedPairs(
        answers.map((answer, i) => ({
          address: addresses[i] ?? "",
          connected: Option.getOrUndefined(Option.map(answer, (s) => s.connected)),
        })),
      )
    const connections = yield* pollUntil(
      probes,
      linked,
      (n) => n >= possible,
      (n) => Console.log(`node pairs connected: ${n}/${possible}`),
      up === folders.length ? 20_000 : 0,
    )
    const seconds = (((yield* Clock.currentTimeMillis) - started) / 1000).toFixed(1)
    const first = folders[0]
    yield* summary(
      `network ${up === folders.length && connections >= possible ? "up" : "PARTLY up"}: ${up}/${folders.length} nodes, ` +
        `${connections}/${possible} node pairs connected in ${seconds} s; dashboard http://localhost:${first?.port ?? 4001}/; Ctrl-C stops them all`,
    )
    const codes = yield* Effect.forEach(children, (child) => child.exitCode, { concurrency: "unbounded" })
    const failed = codes.filter((code) => code !== 0).length
    if (failed > 0) return yield* new ExitCode({ code: 1, message: `${failed} node(s) exited with an error` })
  }).pipe(Effect.scoped),
).pipe(
  Command.withDescription(
    "Starts node-1..node-N in one terminal (creating missing folders) and waits for a full mesh; Ctrl-C stops all.",
  ),
)
