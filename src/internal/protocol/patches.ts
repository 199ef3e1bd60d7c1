/**
 * Immer-style patches carried by signal updates: the first update
 * replaces the whole value (`path: []`), later ones change parts of it. Values are treated as
 * immutable: every change copies the containers along its path.
 *
 * @internal
 */
import type { Patch } from "./messages.js"

type PatchValue = typeof Patch.Type

const copy = (container: unknown): Record<string | number, unknown> | Array<unknown> =>
  Array.isArray(container) ? [...container] : { ...(container as Record<string, unknown>) }

const applyOne = (value: unknown, patch: PatchValue, depth: number): unknown => {
  const key = patch.path[depth]
  if (key === undefined) return patch.op === "remove" ? undefined : patch.value
  const next = copy(value ?? (typeof key === "number" ? [] : {}))
  const isLast = depth === patch.path.length - 1
  if (Array.isArray(next) && typeof key === "number") {
    if (isLast && patch.op === "add") next.splice(key, 0, patch.value)
    else if (isLast && patch.op === "remove") next.splice(key, 1)
    else next[key] = applyOne(next[key], patch, depth + 1)
    return next
  }
  const record = next as Record<string | number, unknown>
  if (isLast && patch.op === "remove") delete record[key]
  else record[key] = applyOne(record[key], patch, depth + 1)
  return record
}

/** The value after applying `patches` in order. */
export const applyPatches = (value: unknown, patches: ReadonlyArray<PatchValue>): unknown =>
  patches.reduce((current, patch) => applyOne(current, patch, 0), value)
