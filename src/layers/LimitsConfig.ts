import { Config, Effect, Layer, Option, Record } from "effect"
import { defaultLimits, Limits, type LimitsShape } from "../services/Limits.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { folderConfigProvider, NodeConfigError } from "./NodeConfigFolder.js"

/** Each limit's environment variable (also read from the node folder's .env). */
export const limitVariables: { readonly [K in keyof LimitsShape]: string } = {
  maxPayloadBytes: "MAX_PAYLOAD_BYTES",
  maxJsonDepth: "MAX_JSON_DEPTH",
  badFramesPerMinute: "BAD_FRAMES_PER_MINUTE",
  messagesPerSecond: "MESSAGES_PER_SECOND",
  messageBurst: "MESSAGE_BURST",
  maxHandshakeAddresses: "MAX_HANDSHAKE_ADDRESSES",
  maxConnections: "MAX_CONNECTIONS",
  dialConcurrency: "DIAL_CONCURRENCY",
  dialQueueSize: "DIAL_QUEUE_SIZE",
  dialTimeoutMillis: "DIAL_TIMEOUT_MS",
  futureToleranceMillis: "TX_FUTURE_TOLERANCE_MS",
}

/** One limit: a whole number of at least 1, or its default when the variable is not set. */
const readLimit = (variable: string, fallback: number) =>
  Effect.gen(function* () {
    const text = yield* Config.option(Config.string(variable))
    if (Option.isNone(text)) return fallback
    const value = text.value.trim()
    if (/^[0-9]+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value))) return Number(value)
    return yield* new NodeConfigError({
      message: `${variable} must be a whole number of at least 1, not ${JSON.stringify(text.value)}`,
    })
  })

/** The limits from the environment and the node folder's .env, each defaulting as docs/limits.md says. */
export const make = Effect.gen(function* () {
  const config = yield* NodeConfig
  const provider = yield* folderConfigProvider(config.folder)
  const limits = Record.map(limitVariables, (variable, key) =>
    readLimit(variable, defaultLimits[key]).pipe(
      Effect.withConfigProvider(provider),
      Effect.catchTag("ConfigError", (error) => new NodeConfigError({ message: `cannot read ${variable}: ${error}` })),
    ),
  )
  return yield* Effect.all(limits)
})

export const layer = Layer.effect(Limits, make)

/** The defaults with some limits changed, for tests. */
export const layerStatic = (overrides: Partial<LimitsShape>) =>
  Layer.succeed(Limits, { ...defaultLimits, ...overrides })
