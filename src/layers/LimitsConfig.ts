import type { FileSystem, Path } from "@effect/platform"
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

/**
 * Whole-number limits, each from its variable in the environment or the node folder's .env, or its
 * default (docs/limits.md): the node's Limits, and the door's (DoorLimitsConfig).
 */
export const readLimits = <K extends string>(
  variables: Readonly<Record<K, readonly [variable: string, description: string]>>,
  defaults: Readonly<Record<K, number>>,
): Effect.Effect<Record<K, number>, NodeConfigError, NodeConfig | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const provider = yield* folderConfigProvider(config.folder)
    const read = yield* Effect.forEach(Record.keys(variables), (key) => {
      const [variable] = variables[key]
      return readLimit(variable, defaults[key], `${config.folder}/.env`).pipe(
        Effect.withConfigProvider(provider),
        Effect.catchTag(
          "ConfigError",
          (error) => new NodeConfigError({ message: `cannot read ${variable}: ${error}` }),
        ),
        Effect.map((value) => [key, value] as const),
      )
    })
    const values = new Map<K, number>(read)
    return Record.map(variables, (_, key) => values.get(key) ?? defaults[key])
  })

/** The limits from the environment and the node folder's .env, each defaulting as docs/limits.md says. */
export const make = readLimits(limitVariables, defaultLimits)

export const layer = Layer.effect(Limits, make)

/** The defaults with some limits changed, for tests. */
export const layerStatic = (overrides: Partial<LimitsShape>) =>
  Layer.succeed(Limits, { ...defaultLimits, ...overrides })
