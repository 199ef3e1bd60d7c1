/**
 * Server data on its way into an error, a log line or a span: bounded in size and depth, and
 * scrubbed of the client's secrets. A server may send anything (a 3 MB refusal reason, 20,000
 * nested arrays, the passkey echoed back); none of it may crash a listener, flood a log or leak
 * a credential.
 *
 * Everything here runs only on error and log paths, never per frame.
 *
 * @internal
 */
import type * as ParseResult from "effect/ParseResult"

/** The longest server string kept in an error or a log line. */
export const MAX_TEXT = 2_000

/** How deep server data is kept in an error's `displayData` / `errorData`. */
const MAX_DEPTH = 8
/** How many values (array items, object entries) server data in an error keeps in all. */
const MAX_NODES = 1_000
/** A preview of a frame in a detail or log line. */
const PREVIEW_LENGTH = 200
const PREVIEW_DEPTH = 4

const REDACTED = "<redacted>"

/** Cuts `text` to `max` characters, saying how much was cut. */
export const bound = (text: string, max: number = MAX_TEXT): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters cut)`

/**
 * Server text made safe for errors and logs: `text` scrubs and bounds a string, `preview`
 * renders any value as short JSON-like text, `data` copies a value with bounded depth and size.
 */
export interface ServerText {
  readonly scrub: (text: string) => string
  readonly text: (text: string, max?: number) => string
  readonly preview: (value: unknown, max?: number) => string
  readonly data: (value: unknown) => unknown
}

/**
 * Removes every occurrence of `secrets` (the passkey; an API token's passkey is its secret part,
 * so removing it also breaks up the whole token), as is and as it appears inside JSON text.
 */
export const scrubberOf = (secrets: ReadonlyArray<string>): (text: string) => string => {
  const forms = Array.from(
    new Set(secrets.filter((s) => s.length > 0).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))
  ).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text
    for (const form of forms) if (out.includes(form)) out = out.replaceAll(form, REDACTED)
    return out
  }
}

/** Server text made safe with `scrub`. */
export const make = (scrub: (text: string) => string): ServerText => {
  // The whole string is scrubbed before it is cut, so that a cut never leaves part of a secret.
  const text = (input: string, max: number = MAX_TEXT) => bound(scrub(input), max)
  const preview = (value: unknown, max: number = PREVIEW_LENGTH) => bound(scrub(render(value, max, scrub)), max)
  const data = (value: unknown) => prune(value, text)
  return { scrub, text, preview, data }
}

/** No secrets to scrub (servers, tests, errors built without a client). */
export const unscrubbed: ServerText = make((text) => text)

/**
 * Renders a value as JSON-like text of at most about `budget` characters, never deeper than
 * `PREVIEW_DEPTH`: it stops as soon as the budget is spent, so it costs the same for 40 bytes or
 * 40 MB, and it never recurses deeper than the preview depth.
 */
const render = (value: unknown, budget: number, scrub: (text: string) => string): string => {
  let out = ""
  const go = (v: unknown, depth: number): void => {
    if (out.length > budget) return
    if (v === null || typeof v === "number" || typeof v === "boolean") {
      out += String(v)
    } else if (typeof v === "string") {
      const clean = scrub(v)
      out += JSON.stringify(clean.length > budget ? clean.slice(0, budget) : clean)
    } else if (v === undefined) {
      out += "undefined"
    } else if (typeof v !== "object") {
      out += typeof v
    } else if (depth >= PREVIEW_DEPTH) {
      out += Array.isArray(v) ? "[…]" : "{…}"
    } else if (Array.isArray(v)) {
      out += "["
      for (let i = 0; i < v.length && out.length <= budget; i++) {
        if (i > 0) out += ","
        go(v[i], depth + 1)
      }
      out += "]"
    } else {
      out += "{"
      let first = true
      for (const key in v) {
        if (out.length > budget) break
        if (!Object.hasOwn(v, key)) continue
        out += `${first ? "" : ","}${JSON.stringify(scrub(key).slice(0, budget))}:`
        first = false
        go((v as Record<string, unknown>)[key], depth + 1)
      }
      out += "}"
    }
  }
  go(value, 0)
  return out
}

/**
 * A copy of JSON data no deeper than `MAX_DEPTH` and with at most `MAX_NODES` values, each string
 * passed through `text`: what an error may keep of the server's `displayData` or `errorData`.
 */
const prune = (value: unknown, text: (s: string) => string): unknown => {
  let nodes = 0
  const go = (v: unknown, depth: number): unknown => {
    nodes++
    if (typeof v === "string") return text(v)
    if (typeof v !== "object" || v === null) return v
    if (depth >= MAX_DEPTH || nodes > MAX_NODES) return Array.isArray(v) ? "[…]" : "{…}"
    if (Array.isArray(v)) {
      const out: Array<unknown> = []
      for (let i = 0; i < v.length; i++) {
        if (nodes >= MAX_NODES) {
          out.push(`… (${v.length - i} more items cut)`)
          break
        }
        out.push(go(v[i], depth + 1))
      }
      return out
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(v)) {
      if (nodes >= MAX_NODES) {
        out["…"] = "(more entries cut)"
        break
      }
      out[text(key)] = go((v as Record<string, unknown>)[key], depth + 1)
    }
    return out
  }
  return go(value, 0)
}

/**
 * A schema failure on server data as one bounded line: up to three problems, each with where it
 * is, what was expected and a short preview of what came. Unlike Effect's formatters it never
 * renders a whole value, so it costs the same, and cannot overflow the stack, however large or
 * deep the data.
 */
export const describeParseError = (error: ParseResult.ParseError, server: ServerText): string => {
  const problems: Array<string> = []
  let more = 0
  const at = (path: ReadonlyArray<PropertyKey>) =>
    path.length === 0 ? "" : `at ${path.map((key) => typeof key === "number" ? `[${key}]` : `.${String(key)}`).join("")}: `
  const visit = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>): void => {
    if (problems.length >= 3) {
      more++
      return
    }
    switch (issue._tag) {
      case "Pointer":
        return visit(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])])
      case "Composite":
        for (const inner of Array.isArray(issue.issues) ? issue.issues : [issue.issues]) visit(inner, path)
        return
      case "Refinement":
      case "Transformation":
        return visit(issue.issue, path)
      case "Type":
        problems.push(
          `${at(path)}${issue.message !== undefined ? server.text(issue.message, 200) : `expected ${bound(String(issue.ast), 120)}`}` +
            `, got ${server.preview(issue.actual, 120)}`
        )
        return
      case "Missing":
        problems.push(`${at(path)}is missing`)
        return
      case "Unexpected":
        problems.push(`${at(path)}is unexpected`)
        return
      case "Forbidden":
        problems.push(`${at(path)}is forbidden`)
        return
    }
  }
  visit(error.issue, [])
  return problems.join("; ") + (more > 0 ? ` (and ${more} more problems)` : "")
}
