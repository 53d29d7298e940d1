import { Config, Effect, Either, Option } from "effect"
import { localAddress, parseAddress } from "../domain/Address.js"
import { describeConfigProblem } from "../domain/configProblem.js"
import { parsePort } from "../domain/port.js"
import {
  defaultHealing,
  defaultMesh,
  defaultPool,
  type HealingSettings,
  type MeshSettings,
  NodeConfigError,
  type PoolSettings,
} from "../services/NodeConfig.js"
import { sourceOf } from "./configErrors.js"

/** The settings a node folder's .env (or the environment) holds, read and checked one by one. */

/** PORT is read as text and checked here: Config's own errors would call a bad PORT a missing one. */
export const readPort = (text: Option.Option<string>, envFile: string) =>
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

export const healingConfig: Config.Config<HealingSettings> = Config.all({
  redialBaseMillis: positiveInteger("REDIAL_BASE_DELAY_MS", defaultHealing.redialBaseMillis),
  redialMaxMillis: positiveInteger("REDIAL_MAX_DELAY_MS", defaultHealing.redialMaxMillis),
  redialLearnedAttempts: positiveInteger("REDIAL_LEARNED_ATTEMPTS", defaultHealing.redialLearnedAttempts),
  givenUpRestMillis: positiveInteger("REDIAL_GIVEN_UP_REST_MS", defaultHealing.givenUpRestMillis),
  heartbeatTimeoutMillis: positiveInteger("HEARTBEAT_TIMEOUT_MS", defaultHealing.heartbeatTimeoutMillis),
  syncIntervalMillis: positiveInteger("SYNC_INTERVAL_MS", defaultHealing.syncIntervalMillis),
})

export const isLoopback = (host: string): boolean =>
  host === "localhost" || host.startsWith("127.") || host === "[::1]" || host === "::1"

/** ADVERTISED_ADDRESS, normalised like every address; unset or empty, the spec's ws://localhost:PORT. */
export const advertisedAddress = (value: Option.Option<string>, port: number, envFile: string) =>
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

export const meshConfig: Config.Config<MeshSettings> = Config.all({
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

export const poolConfig: Config.Config<PoolSettings> = Config.all({
  fsync: Config.boolean("POOL_FSYNC").pipe(Config.withDefault(defaultPool.fsync)),
})
