import { relative, resolve } from "node:path"
import { ListenError } from "./services/Transport.js"

/**
 * The one line a node prints when it cannot start. A taken port gets a hint: the usual cause is the
 * same node folder started twice.
 */
export const describeStartupError = (error: { readonly message: string }, folder: string): string => {
  // One line, whatever a layer put in its message: a log collector reads a line as one event.
  if (!(error instanceof ListenError && error.reason === "AddressInUse"))
    return error.message.replaceAll(/\s*\n\s*/g, " ")
  const absolute = resolve(folder)
  const shown = relative(process.cwd(), absolute)
  return `${error.message}: is another node running from ${shown === "" || shown.startsWith("..") ? absolute : shown}?`
}
