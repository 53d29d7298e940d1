import { Config, Effect, Layer, Option, Record } from "effect"
import { describeConfigProblem } from "../domain/configProblem.js"
import { defaultLimits, Limits, type LimitsShape, limitVariables } from "../services/Limits.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { sourceOf } from "./configErrors.js"
import { folderConfigProvider, NodeConfigError } from "./NodeConfigFolder.js"

/** One limit: a whole number of at least 1, or its default when the variable is not set. */
const readLimit = (variable: string, fallback: number, envFile: string) =>
  Effect.gen(function* () {
    const text = yield* Config.option(Config.string(variable))
    if (Option.isNone(text)) return fallback
    const value = text.value.trim()
    if (/^[0-9]+$/.test(value) && Number(value) >= 1 && Number.isSafeInteger(Number(value))) return Number(value)
    return yield* new NodeConfigError({
      message: describeConfigProblem({
        key: variable,
        value: text.value,
        reason: "a whole number of at least 1",
        where: sourceOf(variable, envFile),
        example: String(fallback),
      }),
    })
  })

/** The limits from the environment and the node folder's .env, each defaulting as docs/limits.md says. */
export const make = Effect.gen(function* () {
  const config = yield* NodeConfig
  const provider = yield* folderConfigProvider(config.folder)
  const limits = Record.map(limitVariables, ([variable], key) =>
    readLimit(variable, defaultLimits[key], `${config.folder}/.env`).pipe(
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
