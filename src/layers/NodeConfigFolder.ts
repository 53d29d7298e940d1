import { FileSystem, Path } from "@effect/platform"
import { Config, ConfigProvider, Effect, Either, Layer, Option } from "effect"
import { type Address, localAddress, parseAddress } from "../domain/Address.js"
import { parseDotenv } from "../domain/dotenv.js"
import { parseKnownPeersFile } from "../domain/knownPeersFile.js"
import {
  defaultHealing,
  defaultMesh,
  defaultPool,
  type HealingSettings,
  type MeshSettings,
  NodeConfig,
  NodeConfigError,
  type PoolSettings,
} from "../services/NodeConfig.js"
import { describeConfigError } from "./configErrors.js"
import { advertisedAddress, healingConfig, isLoopback, meshConfig, poolConfig, readPort } from "./nodeSettings.js"

export { NodeConfigError } from "../services/NodeConfig.js"

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
