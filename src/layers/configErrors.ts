import { Config, type ConfigError, type ConfigProvider, Effect, Option } from "effect"
import { describeConfigProblem, firstInvalidData } from "../domain/configProblem.js"
import { defaultHealing, defaultMesh, defaultPool } from "../services/NodeConfig.js"

/** Keys read with Config.*, each with a value to show as an example of a good one. */
const examples: Record<string, string> = {
  HOST: "0.0.0.0",
  REDIAL_BASE_DELAY_MS: String(defaultHealing.redialBaseMillis),
  REDIAL_MAX_DELAY_MS: String(defaultHealing.redialMaxMillis),
  REDIAL_LEARNED_ATTEMPTS: String(defaultHealing.redialLearnedAttempts),
  REDIAL_GIVEN_UP_REST_MS: String(defaultHealing.givenUpRestMillis),
  HEARTBEAT_TIMEOUT_MS: String(defaultHealing.heartbeatTimeoutMillis),
  SYNC_INTERVAL_MS: String(defaultHealing.syncIntervalMillis),
  MAX_PEERS: "8",
  GOSSIP_MODE: defaultMesh.gossip,
  PEERS_ANNOUNCE_DELAY_MS: String(defaultMesh.announceDelayMillis),
  SHARE_CONNECTIONS: String(defaultMesh.shareConnections),
  POOL_FSYNC: String(defaultPool.fsync),
  OTEL_BSP_SCHEDULE_DELAY: "5000",
}

/** Where a variable's value came from: the environment overrides the .env file. */
export const sourceOf = (key: string, envFile: string): string =>
  process.env[key] === undefined ? envFile : "the environment"

/** Config's error as one line naming the key, its value, where it came from and an example. */
export const describeConfigError = (
  error: ConfigError.ConfigError,
  envFile: string,
  provider: ConfigProvider.ConfigProvider,
): Effect.Effect<string> =>
  Effect.gen(function* () {
    const invalid = firstInvalidData(error)
    if (Option.isNone(invalid)) return `cannot read ${envFile}: ${String(error).replaceAll(/\s+/g, " ")}`
    const { key, reason } = invalid.value
    const value = yield* Effect.withConfigProvider(Config.string(key), provider).pipe(Effect.orElseSucceed(() => ""))
    return describeConfigProblem({ key, value, reason, where: sourceOf(key, envFile), example: examples[key] ?? "…" })
  })
