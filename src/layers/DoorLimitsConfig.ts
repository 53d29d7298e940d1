import { Layer } from "effect"
import { DoorLimits, type DoorLimitsShape, defaultDoorLimits, doorLimitVariables } from "../services/Admission.js"
import { readLimits } from "./LimitsConfig.js"

/** The door's limits from the environment and the node folder's .env, each defaulting as docs/limits.md says. */
export const make = readLimits(doorLimitVariables, defaultDoorLimits)

export const layer = Layer.effect(DoorLimits, make)

/** The defaults with some limits changed, for tests. */
export const layerStatic = (overrides: Partial<DoorLimitsShape>) =>
  Layer.succeed(DoorLimits, { ...defaultDoorLimits, ...overrides })
