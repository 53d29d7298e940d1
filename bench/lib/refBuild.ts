import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../..")

/** A build of our node at a git ref, in a temporary worktree until `remove`. */
export interface RefBuild {
  readonly ref: string
  readonly commit: string
  /** The ref's `dist/main.mjs`, the production start. */
  readonly bundle: string
  readonly remove: () => void
}

const git = (args: ReadonlyArray<string>, cwd = root): string =>
  execFileSync("git", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim()

/** The one line worth showing from a failed child process: its stderr's last line, or its message. */
const reason = (error: unknown): string => {
  const stderr =
    typeof error === "object" && error !== null && "stderr" in error ? String(error.stderr).trim() : undefined
  return stderr?.split("\n").at(-1) ?? (error instanceof Error ? error.message : String(error))
}

/**
 * Checks `ref` out into a temporary git worktree under os.tmpdir() (this checkout's node_modules linked
 * in, so nothing is installed) and runs `npm run build` there. Throws with one line that says what to do
 * if the ref does not exist or does not build; the worktree is removed again in that case.
 */
export const buildRef = (ref: string, log: (line: string) => void): RefBuild => {
  let commit: string
  try {
    commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])
  } catch {
    throw new Error(`--compare-ref: "${ref}" is not a commit in this repository (see git log, git branch -a)`)
  }
  const folder = mkdtempSync(join(tmpdir(), "meshnode-bench-ref-"))
  const remove = () => {
    try {
      git(["worktree", "remove", "--force", folder])
    } catch {
      // Already gone, or never added: the folder and git's record of it are cleared below.
    }
    rmSync(folder, { recursive: true, force: true })
    git(["worktree", "prune"])
  }
  try {
    git(["worktree", "add", "--detach", folder, commit])
    symlinkSync(realpathSync(join(root, "node_modules")), join(folder, "node_modules"))
    log(`building ${ref} (${commit.slice(0, 10)}) in ${folder}`)
    execFileSync("npm", ["run", "build"], { cwd: folder, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (error) {
    remove()
    throw new Error(`--compare-ref: building ${ref} failed (${reason(error)}); try npm run build on a checkout of it`)
  }
  const bundle = join(folder, "dist/main.mjs")
  if (!existsSync(bundle)) {
    remove()
    throw new Error(
      `--compare-ref: ${ref} built no dist/main.mjs (a ref older than the bundled build cannot be compared)`,
    )
  }
  return { ref, commit, bundle, remove }
}
