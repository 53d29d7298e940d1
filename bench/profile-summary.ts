import { readFileSync } from "node:fs"

/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: where a node spent its CPU time, from a
 * `node --cpu-prof` profile (see `npm run bench -- --profile`): self time by package and by function.
 */
interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topText] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write("usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]\n")
  process.exit(2)
}
const top = Number(topText ?? 20)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))

const selfMicros = new Map<number, number>()
for (const [i, id] of profile.samples.entries()) {
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}

const packageOf = (url: string): string => {
  if (url === "") return "(native/vm)"
  if (url.startsWith("node:")) return "node internals"
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (match?.[1] !== undefined) return match[1]
  const local = /\/(src|bench)\/(.*)$/.exec(url)
  return local === null ? url : `${local[1]}/${local[2]}`
}

/** Package and file, for telling one package's functions apart: `effect/internal/fiberRuntime.js`. */
const fileOf = (url: string): string => {
  const pkg = packageOf(url)
  if (!url.includes("node_modules/")) return pkg
  return `${pkg}/${url.split("/").slice(-2).join("/")}`
}

const add = (map: Map<string, number>, key: string, micros: number) => map.set(key, (map.get(key) ?? 0) + micros)
const byPackage = new Map<string, number>()
const byFunction = new Map<string, number>()
let total = 0
let idle = 0
for (const [id, micros] of selfMicros) {
  const node = byId.get(id)
  if (node === undefined) continue
  total += micros
  const { functionName, url, lineNumber } = node.callFrame
  if (functionName === "(idle)") {
    idle += micros
    continue
  }
  add(byPackage, functionName === "(garbage collector)" ? "(garbage collector)" : packageOf(url), micros)
  add(byFunction, `${functionName || "(anonymous)"} ${fileOf(url)}:${lineNumber + 1}`, micros)
}

const busy = total - idle
const ms = (micros: number) => `${(micros / 1000).toFixed(0).padStart(7)} ms`
const share = (micros: number) => `${((100 * micros) / Math.max(1, busy)).toFixed(1).padStart(5)}%`
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`)
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${ms(micros)} ${share(micros)}  ${key}\n`)
  }
}
process.stdout.write(`${file}\nsampled ${ms(total)}, busy ${ms(busy)}, idle ${ms(idle)}\n`)
print("self time by package (share of busy time)", byPackage)
print("self time by function", byFunction)
