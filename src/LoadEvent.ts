/**
 * Events of a model load, as emitted by `modelStream` and `loadNewInstanceStream`, in this order:
 *
 * - `modelStream(key)` (get-or-load) when it loads: `UnloadingOtherJitModel` for each other
 *   just-in-time instance LM Studio evicts first (of any domain; none when JIT auto-evict is off),
 *   then `Resolved`, `Progress`… (ending at 1), and `Loaded`.
 * - `modelStream(key)` when the model is already loaded: only `Loaded` (`loadedByThisCall: false`).
 * - `loadNewInstanceStream(key)`: `Resolved`, `Progress`…, `Loaded`; it never evicts anything.
 *
 * `toHandle` runs such a stream for its handle; `consoleProgress` renders progress on a terminal.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ModelInstanceInfo } from "./ModelInfo.js"

/**
 * LM Studio resolved the requested key to a downloaded model and started loading it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved<Info> {
  readonly _tag: "Resolved"
  /** The downloaded model being loaded. */
  readonly info: Info
  /** The identifier the new instance will get, when the server announces it (get-or-load only). */
  readonly identifier: string | undefined
  /** Other model keys that also matched the request; the first match is loaded. */
  readonly ambiguous: ReadonlyArray<string>
}

/**
 * Load progress, a fraction in [0, 1]; fractions never decrease and the last one is 1.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly _tag: "Progress"
  readonly progress: number
}

/**
 * LM Studio unloaded another just-in-time loaded instance (of any domain) before loading this one
 * (its "JIT auto-evict" setting, on by default). Only get-or-load (`model(key)`, `modelStream`)
 * evicts, and only instances that get-or-load loaded; these events come before `Resolved`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnloadingOtherJitModel {
  readonly _tag: "UnloadingOtherJitModel"
  readonly info: ModelInstanceInfo
}

/**
 * The last event: the model is loaded and ready.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded<Handle> {
  readonly _tag: "Loaded"
  readonly handle: Handle
  /** `false` when get-or-load found the model already loaded. */
  readonly loadedByThisCall: boolean
}

/**
 * Any load event.
 *
 * @since 0.1.0
 * @category models
 */
export type LoadEvent<Handle, Info> = Resolved<Info> | Progress | UnloadingOtherJitModel | Loaded<Handle>

/**
 * Whether an event is the final `Loaded` one.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLoaded = <Handle, Info>(event: LoadEvent<Handle, Info>): event is Loaded<Handle> =>
  event._tag === "Loaded"

/**
 * Whether an event is a `Progress` fraction.
 *
 * @since 0.1.0
 * @category guards
 */
export const isProgress = <Handle, Info>(event: LoadEvent<Handle, Info>): event is Progress =>
  event._tag === "Progress"

/**
 * Runs a load stream for the handle of its final `Loaded` event: `filter(isLoaded)` + `runHead`,
 * ready made. Tap the stream first to watch the other events.
 *
 * ```ts
 * const model = yield* client.llm.modelStream("llama-3.2-1b-instruct").pipe(
 *   Stream.tap((event) => Console.log(event._tag)),
 *   LoadEvent.toHandle
 * )
 * ```
 *
 * @since 0.1.0
 * @category destructors
 */
export const toHandle = <Handle, Info, E, R>(
  stream: Stream.Stream<LoadEvent<Handle, Info>, E, R>
): Effect.Effect<Handle, E, R> =>
  Effect.flatMap(
    Stream.runHead(Stream.filter(stream, isLoaded)),
    Option.match({
      // The library's own load streams fail instead of ending early; only a truncated stream gets here.
      onNone: () => Effect.dieMessage("LoadEvent.toHandle: the load stream ended without a Loaded event"),
      onSome: (loaded) => Effect.succeed(loaded.handle)
    })
  )

/**
 * Options of {@link consoleProgress}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConsoleProgressOptions {
  /** Where the text goes. Default: `process.stdout`. */
  readonly write?: ((text: string) => void) | undefined
  /** Redraw one bar in place (a terminal) or print a line per quarter (a pipe, a log). Default: whether stdout is a TTY. */
  readonly tty?: boolean | undefined
}

/**
 * An `onProgress` callback that shows load progress on the console, like the official client's
 * `verbose` option: a bar redrawn in place on a terminal, a line at 0, 25, 50, 75 and 100% when
 * the output is a pipe or a log. Opt in per load:
 *
 * ```ts
 * client.llm.model("llama-3.2-1b-instruct", { onProgress: LoadEvent.consoleProgress("llama") })
 * ```
 *
 * Make one per load: it remembers what it last printed.
 *
 * @since 0.1.0
 * @category rendering
 */
export const consoleProgress = (
  label = "loading",
  options: ConsoleProgressOptions = {}
): (progress: number) => Effect.Effect<void> => {
  const write = options.write ?? ((text: string) => void process.stdout.write(text))
  const tty = options.tty ?? process.stdout.isTTY === true
  let lastShown = -1
  return (progress) =>
    Effect.sync(() => {
      const fraction = Math.min(1, Math.max(0, progress))
      const percent = Math.round(fraction * 100)
      if (tty) {
        if (lastShown >= 100) return // done: the bar and its newline are printed
        const width = 30
        const filled = Math.round(fraction * width)
        write(`\r${label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(percent).padStart(3)}%`)
        if (percent >= 100) write("\n")
        lastShown = percent
        return
      }
      const quarter = Math.floor(percent / 25) * 25
      if (quarter > lastShown) {
        lastShown = quarter
        write(`${label} ${quarter}%\n`)
      }
    })
}
