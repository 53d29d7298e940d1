import { execFile } from "node:child_process"
import { promisify } from "node:util"

const run = promisify(execFile)

/**
 * Separate "hosts" on one machine: network namespaces joined by a bridge, each with its own IP in a
 * private range of our own (10.231.7.0/24). The bridge lives in a namespace of its own too, so
 * nothing is added to the machine's own network. Names start with `mn7-<pid>-`, so runs never clash
 * and leftovers of a run that died can be recognised and removed. Needs root and `ip` (iproute2).
 */

const PREFIX = "mn7-"
const SUBNET = "10.231.7"

export interface Host {
  /** The namespace the host's processes run in. */
  readonly namespace: string
  readonly ip: string
}

const ip = (...args: ReadonlyArray<string>) => run("ip", [...args])

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Why namespaces cannot be made here, or undefined if they can (tried with a throwaway one). */
export const namespacesUnavailable = async (): Promise<string | undefined> => {
  if (process.platform !== "linux") return "network namespaces need Linux"
  if (process.getuid?.() !== 0) return "network namespaces need root (CI runs as root)"
  const probe = `${PREFIX}${process.pid}-probe`
  try {
    await ip("netns", "add", probe)
    await ip("netns", "del", probe)
    return undefined
  } catch (error) {
    return `cannot create a network namespace: ${(error as Error).message.split("\n")[0]} (is iproute2 installed? .ci/install-iproute2)`
  }
}

/** Removes namespaces left by runs of this helper whose process is gone. */
const removeLeftovers = async () => {
  const { stdout } = await ip("netns", "list")
  for (const line of stdout.split("\n")) {
    const name = line.split(" ")[0] ?? ""
    const owner = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1]
    if (owner !== undefined && !isAlive(Number(owner))) await ip("netns", "del", name).catch(() => undefined)
  }
}

/** Makes `count` hosts on one bridge: host i has IP 10.231.7.(i+1). */
export const makeHosts = async (count: number) => {
  await removeLeftovers()
  const tag = `${PREFIX}${process.pid}-`
  const bridge = `${tag}sw`
  const made: Array<string> = []
  const remove = async () => {
    for (const namespace of made.reverse()) await ip("netns", "del", namespace).catch(() => undefined)
  }
  try {
    await ip("netns", "add", bridge)
    made.push(bridge)
    await ip("-n", bridge, "link", "add", "br0", "type", "bridge")
    await ip("-n", bridge, "link", "set", "br0", "up")
    const hosts: Array<Host> = []
    for (let i = 0; i < count; i++) {
      const namespace = `${tag}h${i + 1}`
      const address = `${SUBNET}.${i + 1}`
      await ip("netns", "add", namespace)
      made.push(namespace)
      // Both ends are created right in their namespaces: nothing appears in the machine's own.
      await ip("link", "add", "eth0", "netns", namespace, "type", "veth", "peer", "name", `p${i + 1}`, "netns", bridge)
      await ip("-n", bridge, "link", "set", `p${i + 1}`, "master", "br0", "up")
      await ip("-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0")
      await ip("-n", namespace, "link", "set", "eth0", "up")
      await ip("-n", namespace, "link", "set", "lo", "up")
      hosts.push({ namespace, ip: address })
    }
    return {
      hosts,
      /** Takes a host's network link down (its peers then hear nothing from it) or up again. */
      setLink: (host: Host, up: boolean) => ip("-n", host.namespace, "link", "set", "eth0", up ? "up" : "down"),
      /** Deletes every namespace made (their interfaces and the bridge go with them). */
      remove,
    }
  } catch (error) {
    await remove()
    throw error
  }
}

/** The command prefix that runs a program on `host`. */
export const onHost = (host: Host): ReadonlyArray<string> => ["ip", "netns", "exec", host.namespace]
