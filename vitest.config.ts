import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real processes and sockets share two cores with the rest of the suite: be patient.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
