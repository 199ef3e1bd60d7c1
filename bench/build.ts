/**
 * Transpiles TypeScript to plain JS file by file with esbuild (no bundling, no type check), keeping
 * the module graph and the `.js` import specifiers as they are: the same shape `tsc` emits into
 * dist/. Used for lmstudio-effect's cold-import measurement when there is no fresh dist/, and for
 * profiling (tsx's output collapses each module onto one line, which makes profiles unreadable).
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"

export const listTs = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith(".") || entry.name === "node_modules") return []
    const path = join(dir, entry.name)
    return entry.isDirectory() ? listTs(path) : entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : []
  })

export const transpile = async (dirs: ReadonlyArray<string>, outbase: string, outdir: string): Promise<void> => {
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: dirs.flatMap(listTs),
    outdir,
    outbase,
    format: "esm",
    platform: "node",
    target: "es2022",
    bundle: false,
    logLevel: "error"
  })
}
