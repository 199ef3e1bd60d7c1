/**
 * The three benchmarked clients behind one interface. Each workload loop is written the way a user
 * of that client would write it: Effect programs for lmstudio-effect (one `runPromise` per
 * sample, not per operation), `await` loops for `@lmstudio/sdk`, and callbacks over a bare socket
 * for the raw `ws` floor. Each client lives in its own module, loaded on demand, so that a worker
 * process only ever loads the client it measures.
 *
 * Every method runs until `deadline` (a `performance.now()` timestamp) and returns what it did, so
 * that samples have a fixed duration whatever the client's speed.
 */
import type { BenchClient, ClientName } from "./shared.js"

export * from "./shared.js"

export const makeClient = async (name: ClientName, baseUrl: string): Promise<BenchClient> => {
  switch (name) {
    case "lmstudio-effect":
      return (await import("./effect.js")).makeEffectClient(baseUrl)
    case "@lmstudio/sdk":
      return (await import("./official.js")).makeOfficialClient(baseUrl)
    case "raw ws":
      return (await import("./raw.js")).makeRawClient(baseUrl)
  }
}
