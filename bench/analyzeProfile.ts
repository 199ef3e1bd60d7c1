/**
 * Summarises a V8 `.cpuprofile`: top functions by self time, and self time per file (with
 * node_modules folded to their package), so that hot paths in src/ stand out.
 *
 *   npx tsx bench/analyzeProfile.ts <file.cpuprofile> [top=30] [filter]
 *
 * `filter` keeps only frames whose URL contains it (e.g. `/src/`).
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
  readonly startTime: number
  readonly endTime: number
}

const shortUrl = (url: string): string => {
  if (url === "") return "(native)"
  const nm = url.lastIndexOf("/node_modules/")
  if (nm !== -1) {
    const rest = url.slice(nm + "/node_modules/".length).split("/")
    const pkg = rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]
    return `${pkg}:${rest.slice(pkg?.startsWith("@") ? 2 : 1).join("/")}`
  }
  const build = url.indexOf("/.build/prof/")
  if (build !== -1) return url.slice(build + "/.build/prof/".length)
  const src = url.indexOf("/src/")
  if (src !== -1) return url.slice(src + 1)
  const bench = url.indexOf("/bench/")
  if (bench !== -1) return url.slice(bench + 1)
  return url.replace(/^file:\/\//, "")
}

/** Prints the summary; returns it as text too. */
export const analyze = (file: string, top = 30, filter?: string): string => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const selfUs = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const totalUs = profile.endTime - profile.startTime
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0
    if (us === 0) continue
    const { functionName, lineNumber, url } = node.callFrame
    if (filter !== undefined && !url.includes(filter)) continue
    const where = shortUrl(url)
    const fn = `${functionName || "(anonymous)"}  ${where}:${lineNumber + 1}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    const fileKey = url.includes("/node_modules/") ? where.split(":")[0]! : where
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us)
  }
  // Inclusive time: every function on a sample's stack, once per sample.
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame
      if (frame.url === "" || (filter !== undefined && !frame.url.includes(filter))) continue
      const fn = `${frame.functionName || "(anonymous)"}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
      if (seen.has(fn)) continue
      seen.add(fn)
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + us)
    }
  }
  const lines: Array<string> = [`profile: ${(totalUs / 1e6).toFixed(2)} s, ${profile.samples.length} samples`]
  const section = (title: string, entries: Map<string, number>, n: number) => {
    lines.push("", title)
    for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      lines.push(`${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`)
    }
  }
  section("Self time by function (line numbers are in the transpiled JS)", byFunction, top)
  section("Self time by file / package", byFile, 25)
  section("Inclusive time by function (JS frames only; fiber hops cut stacks short)", inclusive, top)
  const text = lines.join("\n")
  console.log(text)
  return text
}

if (process.argv[1]?.endsWith("analyzeProfile.ts") || process.argv[1]?.endsWith("analyzeProfile.js")) {
  const [file, topArg, filter] = process.argv.slice(2)
  if (file === undefined) {
    console.error("usage: tsx bench/analyzeProfile.ts <file.cpuprofile> [top] [filter]")
    process.exit(1)
  }
  analyze(file, Number(topArg ?? 30), filter)
}
