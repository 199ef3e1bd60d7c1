// Checks what the published package would contain (run after `npm run build`): no install-time
// scripts, a LICENSE, no source-map comments pointing at maps that are not shipped, no doc
// comment citing the protocol document (it is not in the package), and public declarations that
// never reach `ws` (its types, @types/ws, are only a devDependency: users would get TS7016 with
// `skipLibCheck: false`).
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

const problems = []
const pkg = JSON.parse(readFileSync("package.json", "utf8"))
for (const hook of ["preinstall", "install", "postinstall", "prepare"]) {
  if (pkg.scripts?.[hook] !== undefined) problems.push(`package.json has an install-time "${hook}" script`)
}
if (!existsSync("LICENSE") || !pkg.files.includes("LICENSE")) problems.push("LICENSE missing or not in `files`")

const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])
for (const file of walk("dist")) {
  const text = readFileSync(file, "utf8")
  if (file.endsWith(".map")) problems.push(`${file}: a source map in dist/`)
  if (text.includes("sourceMappingURL")) problems.push(`${file}: a sourceMappingURL comment`)
  if (file.endsWith(".d.ts") && /lmstudio-protocol|§\d/.test(text)) problems.push(`${file}: a doc comment cites the protocol document`)
}

// The declaration files reachable from the entry points, and the bare modules they import.
const entries = Object.values(pkg.exports).map((e) => e.types).filter(Boolean)
const seen = new Set()
const reached = new Map()
const visit = (file, from) => {
  if (seen.has(file)) return
  seen.add(file)
  const text = readFileSync(file, "utf8")
  for (const [, spec] of text.matchAll(/(?:from\s+|import\s*\(\s*)["']([^"']+)["']/g)) {
    if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".d.ts")), file)
    else reached.set(spec, reached.get(spec) ?? `${file} (via ${from})`)
  }
}
for (const entry of entries) visit(resolve(entry), "package.json")
for (const [spec, where] of reached) {
  if (spec === "ws" || spec.startsWith("ws/")) problems.push(`public declarations import "${spec}": ${where}`)
}

if (problems.length > 0) {
  console.error(problems.join("\n"))
  process.exit(1)
}
console.log(`package: ${seen.size} declaration files reachable from ${entries.length} entry points, none imports ws; no maps, no install scripts`)
