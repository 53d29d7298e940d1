import { type CommandExecutor, type HttpClient, Command as Process } from "@effect/platform"
import { Clock, Console, Effect, Either, Fiber, Option, Stream } from "effect"
import type { NodeStatus } from "../domain/NodeStatus.js"
import { nodeProcess } from "./node.js"
import type { NodeFolder } from "./nodeFolders.js"
import { colourOn, summary } from "./output.js"
import { fetchStatus } from "./statusClient.js"

/** The child processes of `meshnode network`: started, waited for and stopped together. */

const colours = [36, 33, 35, 32, 34, 31]

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

/** A started node and how to ask it for its /status. */
export type LaunchedNode = RunningNode & {
  readonly probe: Effect.Effect<Option.Option<NodeStatus>, never, HttpClient.HttpClient>
}

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

/** A node's /status, or None: a node whose process has exited is down, even if something else answers on its port. */
const statusProbe = (node: NodeFolder, child: CommandExecutor.Process): LaunchedNode["probe"] =>
  Effect.flatMap(
    Effect.orElseSucceed(child.isRunning, () => false),
    (running) => (running ? fetchStatus(node.port, "1 second") : Effect.succeedNone),
  )

/**
 * Starts a node for each folder, all at once: a node redials known peers that are not up yet, so start
 * order does not matter. When the scope closes (Ctrl-C, SIGTERM) every node stops at once, and its last
 * lines show before this CLI exits.
 */
export const launchNodes = (folders: ReadonlyArray<NodeFolder>, host: Option.Option<string>) =>
  Effect.gen(function* () {
    const launched: Array<LaunchedNode> = []
    for (const [i, node] of folders.entries()) {
      yield* Console.log(`starting ${node.name} (:${node.port})`)
      const running = yield* startNode(node, colours[i % colours.length] ?? 36, host)
      launched.push({ ...running, probe: statusProbe(node, running.child) })
    }
    yield* Effect.addFinalizer(() =>
      Effect.forEach(launched, stopNode, { concurrency: "unbounded" }).pipe(
        Effect.flatMap((lines) => summary(`network stopped: ${lines.join(", ")}`)),
      ),
    )
    return launched
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

/** Waits for every node at once (up to 30 s each), telling each one that comes up; answers how many did. */
export const waitForNodes = (launched: ReadonlyArray<LaunchedNode>) =>
  Effect.gen(function* () {
    let up = 0
    yield* Effect.forEach(
      launched,
      ({ node, child, probe }) =>
        Effect.gen(function* () {
          if (yield* waitUntilUp(probe, child, 30_000)) {
            up++
            yield* Console.log(`nodes up: ${up}/${launched.length}`)
          } else {
            yield* Console.log(`${node.name} did not come up; see its output above`)
          }
        }),
      { concurrency: "unbounded", discard: true },
    )
    return up
  })
