import { FileSystem, Path } from "@effect/platform"
import { Config, ConfigProvider, Data, Effect, Either, Layer, Option } from "effect"
import { type Address, localAddress, parseAddress } from "../domain/Address.js"
import { describeConfigProblem } from "../domain/configProblem.js"
import { parseDotenv } from "../domain/dotenv.js"
import { parseKnownPeersFile } from "../domain/knownPeersFile.js"
import { parsePort } from "../domain/port.js"
import {
  defaultHealing,
  defaultMesh,
  defaultPool,
  type HealingSettings,
  type MeshSettings,
  NodeConfig,
  type PoolSettings,
} from "../services/NodeConfig.js"
import { describeConfigError, sourceOf } from "./configErrors.js"

/** A node folder whose configuration cannot be used; the message says what to fix. */
export class NodeConfigError extends Data.TaggedError("NodeConfigError")<{ readonly message: string }> {}

/**
 * The node folder's .env values, with the process environment taking precedence, and `overrides`
 * (the node's --port and --host) over both.
 */
export const folderConfigProvider = (folder: string, overrides: ReadonlyMap<string, string> = new Map()) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const envFile = path.join(folder, ".env")
    const dotenv = (yield* fs.exists(envFile).pipe(Effect.orElseSucceed(() => false)))
      ? parseDotenv(yield* fs.readFileString(envFile).pipe(Effect.orElseSucceed(() => "")))
      : new Map<string, string>()
    return ConfigProvider.fromMap(new Map(overrides)).pipe(
      ConfigProvider.orElse(() => ConfigProvider.fromEnv()),
      ConfigProvider.orElse(() => ConfigProvider.fromMap(dotenv)),
    )
  })

const readKnownPeers = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError(
        (e) =>
          new NodeConfigError({
            message:
              e._tag === "SystemError" && e.reason === "NotFound"
                ? `${file} is missing: create it with a JSON array of peer addresses, e.g. ["ws://localhost:4001"]`
                : `cannot read ${file}: ${e.message}`,
          }),
      ),
    )
    const entries = parseKnownPeersFile(text)
    if (Either.isLeft(entries)) {
      return yield* new NodeConfigError({
        message: `${file} ${entries.left}: write a JSON array of peer addresses, e.g. ["ws://localhost:4001"], or [] for none`,
      })
    }
    const peers: Array<Address> = []
    for (const entry of entries.right) {
      const parsed = parseAddress(entry)
      if (Either.isLeft(parsed)) {
        yield* Effect.logWarning("known peer refused").pipe(Effect.annotateLogs({ file, entry, reason: parsed.left }))
      } else if (!peers.includes(parsed.right)) {
        peers.push(parsed.right)
      }
    }
    return peers
  })

/** A node folder must exist: the pool is written there, and a mistyped name should not look like a missing PORT. */
const requireFolder = (absolute: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(absolute).pipe(Effect.option)
    if (Option.isNone(info)) {
      return yield* new NodeConfigError({
        message: `node folder ${absolute} does not exist: name an existing one, or create one with npm run clone-node`,
      })
    }
    if (info.value.type !== "Directory") {
      return yield* new NodeConfigError({
        message: `${absolute} is not a folder: name a node folder (one with a .env)`,
      })
    }
  })

/** Reads a node folder: its .env (PORT, MY_PUBLIC_KEY; the environment overrides it) and known-peers.json. */
export const make = (folder: string, overrides?: ReadonlyMap<string, string>) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const absolute = path.resolve(folder)
    yield* requireFolder(absolute)
    const provider = yield* folderConfigProvider(absolute, overrides)
    const settings = yield* Effect.withConfigProvider(
      Config.all({
        port: Config.option(Config.string("PORT")),
        host: Config.string("HOST").pipe(Config.withDefault("localhost")),
        publicKey: Config.option(Config.string("MY_PUBLIC_KEY")),
        advertised: Config.option(Config.string("ADVERTISED_ADDRESS")),
        healing: healingConfig,
        mesh: meshConfig,
        pool: poolConfig,
      }),
      provider,
    ).pipe(
      Effect.catchTag("ConfigError", (error) =>
        Effect.flatMap(
          describeConfigError(error, path.join(absolute, ".env"), provider),
          (message) => new NodeConfigError({ message }),
        ),
      ),
    )
    const port = yield* readPort(settings.port, path.join(absolute, ".env"))
    const address = yield* advertisedAddress(settings.advertised, port, path.join(absolute, ".env"))
    if (isLoopback(settings.host) && !isLoopback(new URL(address.replace(/^ws/, "http")).hostname)) {
      // Not an error (a proxy may forward to it), but usually a forgotten HOST.
      yield* Effect.logWarning(
        "ADVERTISED_ADDRESS is on another interface than HOST: other machines may not reach this node",
      ).pipe(Effect.annotateLogs({ host: settings.host, advertised: address, hint: "set HOST=0.0.0.0" }))
    }
    const knownPeers = yield* readKnownPeers(path.join(absolute, "known-peers.json"))
    return NodeConfig.of({
      folder: absolute,
      port,
      host: settings.host,
      address,
      knownPeers,
      publicKey: Option.filter(settings.publicKey, (key) => key !== ""),
      healing: settings.healing,
      mesh: settings.mesh,
      pool: settings.pool,
    })
  })

/** PORT is read as text and checked here: Config's own errors would call a bad PORT a missing one. */
const readPort = (text: Option.Option<string>, envFile: string) =>
  Option.match(text, {
    onNone: () =>
      new NodeConfigError({ message: `PORT is missing: set e.g. PORT=4001 in ${envFile} or the environment` }),
    onSome: (value) =>
      Either.mapLeft(
        parsePort(value),
        (problem) =>
          new NodeConfigError({ message: `${problem} (in ${sourceOf("PORT", envFile)}): set e.g. PORT=4001` }),
      ),
  })

const positiveInteger = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `${name} must be a whole number above 0`, validation: (n) => n > 0 }),
    Config.withDefault(fallback),
  )

const healingConfig: Config.Config<HealingSettings> = Config.all({
  redialBaseMillis: positiveInteger("REDIAL_BASE_DELAY_MS", defaultHealing.redialBaseMillis),
  redialMaxMillis: positiveInteger("REDIAL_MAX_DELAY_MS", defaultHealing.redialMaxMillis),
  redialLearnedAttempts: positiveInteger("REDIAL_LEARNED_ATTEMPTS", defaultHealing.redialLearnedAttempts),
  heartbeatTimeoutMillis: positiveInteger("HEARTBEAT_TIMEOUT_MS", defaultHealing.heartbeatTimeoutMillis),
  syncIntervalMillis: positiveInteger("SYNC_INTERVAL_MS", defaultHealing.syncIntervalMillis),
})

const isLoopback = (host: string): boolean =>
  host === "localhost" || host.startsWith("127.") || host === "[::1]" || host === "::1"

/** ADVERTISED_ADDRESS, normalised like every address; unset or empty, the spec's ws://localhost:PORT. */
const advertisedAddress = (value: Option.Option<string>, port: number, envFile: string) =>
  Option.match(
    Option.filter(value, (text) => text.trim() !== ""),
    {
      onNone: () => Effect.succeed(localAddress(port)),
      onSome: (text) =>
        Either.match(parseAddress(text), {
          onLeft: (problem) =>
            new NodeConfigError({
              message: describeConfigProblem({
                key: "ADVERTISED_ADDRESS",
                value: text.slice(0, 200),
                reason: `a ws://host:port address that other nodes can dial: ${problem}`,
                where: sourceOf("ADVERTISED_ADDRESS", envFile),
                example: `ws://meshnode-1.example.org:${port}`,
              }),
            }),
          onRight: Effect.succeed,
        }),
    },
  )

const meshConfig: Config.Config<MeshSettings> = Config.all({
  maxPeers: Config.option(
    Config.integer("MAX_PEERS").pipe(
      Config.validate({ message: "MAX_PEERS must be a whole number of at least 2", validation: (n) => n >= 2 }),
    ),
  ),
  gossip: Config.literal("pruned", "flood")("GOSSIP_MODE").pipe(Config.withDefault(defaultMesh.gossip)),
  announceDelayMillis: Config.integer("PEERS_ANNOUNCE_DELAY_MS").pipe(
    Config.validate({
      message: "PEERS_ANNOUNCE_DELAY_MS must be a whole number, 0 or more",
      validation: (n) => n >= 0,
    }),
    Config.withDefault(defaultMesh.announceDelayMillis),
  ),
  shareConnections: Config.boolean("SHARE_CONNECTIONS").pipe(Config.withDefault(defaultMesh.shareConnections)),
})

const poolConfig: Config.Config<PoolSettings> = Config.all({
  fsync: Config.boolean("POOL_FSYNC").pipe(Config.withDefault(defaultPool.fsync)),
})

export const layer = (folder: string, overrides?: ReadonlyMap<string, string>) =>
  Layer.effect(NodeConfig, make(folder, overrides))

/** A fixed configuration, for tests. */
export const layerStatic = (config: {
  readonly port: number
  readonly knownPeers?: ReadonlyArray<Address>
  readonly host?: string
  readonly folder?: string
  readonly healing?: Partial<HealingSettings>
  /** ADVERTISED_ADDRESS; default ws://localhost:PORT. */
  readonly address?: Address
  readonly mesh?: Partial<MeshSettings>
  readonly pool?: Partial<PoolSettings>
}) =>
  Layer.succeed(
    NodeConfig,
    NodeConfig.of({
      folder: config.folder ?? ".",
      port: config.port,
      host: config.host ?? "localhost",
      address: config.address ?? localAddress(config.port),
      knownPeers: config.knownPeers ?? [],
      publicKey: Option.none(),
      healing: { ...defaultHealing, ...config.healing },
      mesh: { ...defaultMesh, ...config.mesh },
      pool: { ...defaultPool, ...config.pool },
    }),
  )
