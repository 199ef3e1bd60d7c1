/**
 * The traffic log: a ring buffer of the most recent frames, so a long-running simulator keeps a
 * bounded amount of memory, plus an optional listener that sees every frame as it passes.
 *
 * @internal
 */

/** One frame in or out, as recorded by the traffic log. */
export interface TrafficEntry {
  readonly direction: "in" | "out"
  readonly namespace: string
  readonly connection: number
  /** The parsed JSON frame, or the raw text when it is not JSON. */
  readonly frame: unknown
}

/** How many frames the log keeps unless told otherwise. */
export const DEFAULT_TRAFFIC_LOG_SIZE = 10_000

export class TrafficLog {
  private readonly ring: Array<TrafficEntry | undefined>
  /** Index of the oldest entry once the ring is full. */
  private start = 0
  private size = 0

  constructor(
    readonly capacity: number,
    private readonly listener: ((entry: TrafficEntry) => void) | undefined
  ) {
    this.ring = new Array<TrafficEntry | undefined>(capacity)
  }

  /** Whether anybody looks at frames: when not, callers skip building entries. */
  get enabled(): boolean {
    return this.capacity > 0 || this.listener !== undefined
  }

  push(entry: TrafficEntry): void {
    if (this.capacity > 0) {
      if (this.size < this.capacity) {
        this.ring[(this.start + this.size) % this.capacity] = entry
        this.size++
      } else {
        this.ring[this.start] = entry
        this.start = (this.start + 1) % this.capacity
      }
    }
    if (this.listener !== undefined) {
      try {
        this.listener(entry)
      } catch {
        // A listener that throws must not break the connection that logged the frame.
      }
    }
  }

  /** The kept entries, oldest first. */
  entries(): ReadonlyArray<TrafficEntry> {
    const out: Array<TrafficEntry> = []
    for (let i = 0; i < this.size; i++) {
      const entry = this.ring[(this.start + i) % this.capacity]
      if (entry !== undefined) out.push(entry)
    }
    return out
  }

  clear(): void {
    this.ring.fill(undefined)
    this.start = 0
    this.size = 0
  }
}
