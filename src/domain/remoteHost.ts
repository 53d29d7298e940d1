import type { Address } from "./Address.js"

const loopbackIpv4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** An IP as a socket reports it, IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as plain IPv4. */
const plainIp = (ip: string): string => (ip.toLowerCase().startsWith("::ffff:") ? ip.slice(7) : ip.toLowerCase())

const isLoopback = (ip: string): boolean => ip === "::1" || loopbackIpv4.test(ip)

/** The host of a normalised address, IPv6 without its brackets. */
const hostOf = (address: Address): string => {
  const authority = address.slice(address.indexOf("//") + 2, address.lastIndexOf(":"))
  return authority.startsWith("[") ? authority.slice(1, -1) : authority
}

/**
 * Whether a peer that connected from `remoteIp` may be the node at `address`, as far as can be told
 * without a name lookup: the address names that IP, or both are this machine (`localhost` or a
 * loopback IP). Any other host name answers false, and so does an IP that is not the remote's. With no
 * remote IP (a transport without IPs, like the in-memory one) it answers true.
 */
export const mayBeFrom = (address: Address, remoteIp: string | undefined): boolean => {
  if (remoteIp === undefined) return true
  const remote = plainIp(remoteIp)
  const host = hostOf(address)
  if (isLoopback(remote)) return host === "localhost" || isLoopback(plainIp(host))
  return plainIp(host) === remote
}
