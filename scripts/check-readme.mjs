// Type-checks every ```ts snippet of README.md: each becomes a module in .readme-check/ and tsc
// checks them with the project's settings (so "lmstudio-effect" resolves to src/).
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"

const readme = readFileSync("README.md", "utf8")
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
rmSync(".readme-check", { recursive: true, force: true })
mkdirSync(".readme-check")
snippets.forEach((code, i) => writeFileSync(`.readme-check/snippet-${i + 1}.ts`, code.includes("export ") || code.includes("import ") ? code : `${code}\nexport {}\n`))
writeFileSync(".readme-check/tsconfig.json", JSON.stringify({ extends: "../tsconfig.json", include: ["*.ts"], compilerOptions: { noUnusedLocals: false, rootDir: ".." } }))
try {
  execFileSync("npx", ["tsc", "--noEmit", "-p", ".readme-check"], { stdio: "inherit" })
  console.log(`README: ${snippets.length} TypeScript snippets type-check`)
} finally {
  rmSync(".readme-check", { recursive: true, force: true })
}
