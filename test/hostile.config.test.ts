import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as LimitsConfig from "../src/layers/LimitsConfig.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import { defaultLimits } from "../src/services/Limits.js"

/** A node folder whose .env holds `env` (PORT=7201 unless given). */
const folderWith = (env: string) =>
  Effect.promise(async () => {
    const folder = await mkdtemp(join(tmpdir(), "meshnode-config-"))
    await writeFile(join(folder, ".env"), `PORT=7201\n${env}\n`)
    await writeFile(join(folder, "known-peers.json"), "[]")
    return folder
  })

const limitsOf = (folder: string) =>
  LimitsConfig.make.pipe(
    Effect.provide(NodeConfigFolder.layer(folder)),
    Effect.provide(NodeContext.layer),
    Effect.either,
  )

describe("limits configuration", () => {
  it.effect("every limit has its default when no variable is set", () =>
    Effect.gen(function* () {
      expect(yield* limitsOf(yield* folderWith(""))).toEqual(Either.right(defaultLimits))
    }),
  )

  it.effect("limits are read from the node folder's .env", () =>
    Effect.gen(function* () {
      const limits = yield* limitsOf(
        yield* folderWith("MAX_PAYLOAD_BYTES=2048\nMAX_CONNECTIONS=12\nDIAL_TIMEOUT_MS=750"),
      )
      expect(limits).toEqual(
        Either.right({ ...defaultLimits, maxPayloadBytes: 2048, maxConnections: 12, dialTimeoutMillis: 750 }),
      )
    }),
  )

  it.effect.each(["0", "-1", "1.5", "lots", "99999999999999999999"])(
    "a limit of %j stops the node with a clear message",
    (value) =>
      Effect.gen(function* () {
        const folder = yield* folderWith(`BAD_FRAMES_PER_MINUTE=${value}`)
        const limits = yield* limitsOf(folder)
        expect(Either.isLeft(limits) && limits.left.message).toBe(
          `BAD_FRAMES_PER_MINUTE=${JSON.stringify(value)} in ${join(folder, ".env")} is not valid (a whole number of at least 1): set e.g. BAD_FRAMES_PER_MINUTE=${defaultLimits.badFramesPerMinute}`,
        )
      }),
  )
})
