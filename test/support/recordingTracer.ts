/**
 * A tracer that records every span it makes (name, attributes, events, whether it ended), for
 * tests that check what spans carry — and what they never carry.
 */
import * as Tracer from "effect/Tracer"

export interface RecordedSpan {
  readonly name: string
  /** The name of the parent span, when the parent is one of ours (not an external span). */
  readonly parent: string | undefined
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> }>
  ended: boolean
}

/** A fresh tracer and the spans it records, in the order they started. */
export const recordingTracer = (): { readonly tracer: Tracer.Tracer; readonly spans: Array<RecordedSpan> } => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const parentName = parent._tag === "Some" && parent.value._tag === "Span" ? parent.value.name : undefined
      const recorded: RecordedSpan = { name, parent: parentName, attributes: new Map(), events: [], ended: false }
      spans.push(recorded)
      return {
        ...(Tracer.externalSpan({ spanId: String(spans.length), traceId: "t" }) as unknown as Tracer.Span),
        _tag: "Span",
        name,
        parent,
        context,
        links,
        kind,
        status: { _tag: "Started", startTime },
        attributes: recorded.attributes,
        sampled: true,
        end: () => {
          recorded.ended = true
        },
        attribute: (key: string, value: unknown) => recorded.attributes.set(key, value),
        event: (eventName: string, _time: bigint, attributes?: Record<string, unknown>) =>
          recorded.events.push({ name: eventName, attributes: attributes ?? {} }),
        addLinks: () => {}
      } as Tracer.Span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}
