import { Config, Effect, Layer, Option, Record } from "effect"
import { DoorLimits, type DoorLimitsShape, defaultDoorLimits, doorLimitVariables } from "../services/Admission.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { folderConfigProvider, NodeConfigError } from "./NodeConfigFolder.js"

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

/** The door's limits from the environment and the node folder's .env, each defaulting as docs/limits.md says. */
export const make = Effect.gen(function* () {
  const config = yield* NodeConfig
  const provider = yield* folderConfigProvider(config.folder)
  const limits = Record.map(doorLimitVariables, ([variable], key) =>
    readLimit(variable, defaultDoorLimits[key]).pipe(
      Effect.withConfigProvider(provider),
      Effect.catchTag("ConfigError", (error) => new NodeConfigError({ message: `cannot read ${variable}: ${error}` })),
    ),
  )
  return yield* Effect.all(limits)
})

export const layer = Layer.effect(DoorLimits, make)

/** The defaults with some limits changed, for tests. */
export const layerStatic = (overrides: Partial<DoorLimitsShape>) =>
  Layer.succeed(DoorLimits, { ...defaultDoorLimits, ...overrides })
