import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    alias: {
      "lmstudio-effect/ai": fileURLToPath(new URL("./src/ai/index.ts", import.meta.url)),
      "lmstudio-effect/testing": fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)),
      "lmstudio-effect": fileURLToPath(new URL("./src/index.ts", import.meta.url))
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    fakeTimers: { toFake: undefined },
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
})
