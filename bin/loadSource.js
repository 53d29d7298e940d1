// Runs a TypeScript entry point in this process through tsx's loader, so nothing needs a build step.
// Without `npm install` that is one line saying so, not a stack trace.
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

const isMissingPackage = (error) =>
  error instanceof Error &&
  "code" in error &&
  error.code === "ERR_MODULE_NOT_FOUND" &&
  /Cannot find package/.test(error.message)

const missingInstall = () => {
  process.stderr.write(`meshnode: its dependencies are not installed: run npm install in ${root}\n`)
  process.exit(1)
}

/** Imports `relativePath` (from the repository's root) as TypeScript. */
export const runSource = async (relativePath) => {
  const tsx = await import("tsx/esm/api").catch((error) =>
    isMissingPackage(error) ? missingInstall() : Promise.reject(error),
  )
  tsx.register()
  await import(resolve(root, relativePath)).catch((error) =>
    isMissingPackage(error) ? missingInstall() : Promise.reject(error),
  )
}
