import { readdirSync, readFileSync, readlinkSync } from "node:fs"

/** One established TCP connection from /proc/net/tcp{,6}, by socket inode. */
interface TcpConnection {
  readonly localPort: number
  readonly remotePort: number
}

const established = "01"

const readTcpTable = (file: string, into: Map<string, TcpConnection>): void => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch {
    return
  }
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/)
    const [, local, remote, state] = fields
    const inode = fields[9]
    if (state !== established || local === undefined || remote === undefined || inode === undefined) continue
    const port = (address: string) => Number.parseInt(address.slice(address.lastIndexOf(":") + 1), 16)
    into.set(inode, { localPort: port(local), remotePort: port(remote) })
  }
}

/**
 * For each process, the node ports it has an established outbound TCP connection to, read from
 * /proc (no packet is sent, so the mesh is not disturbed). Outbound: the remote port is a node port
 * and the local port is not (the process is the dialler).
 */
export const outboundNodePorts = (pids: ReadonlyArray<number>, nodePorts: ReadonlySet<number>): Array<Set<number>> => {
  const connections = new Map<string, TcpConnection>()
  readTcpTable("/proc/net/tcp", connections)
  readTcpTable("/proc/net/tcp6", connections)
  return pids.map((pid) => {
    const ports = new Set<number>()
    let fds: Array<string>
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      return ports
    }
    for (const fd of fds) {
      let target: string
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      const connection = inode === undefined ? undefined : connections.get(inode)
      if (connection === undefined) continue
      if (nodePorts.has(connection.remotePort) && !nodePorts.has(connection.localPort)) ports.add(connection.remotePort)
    }
    return ports
  })
}

/**
 * For each process, the node ports its HANDSHAKE lists, as far as TCP state tells: every node it
 * dialled, and with `shared` (our nodes share one connection per pair: src/protocol/pairing.ts) every
 * node that dialled it too. A spec node lists only the nodes it dialled.
 */
export const listedNodePorts = (
  pids: ReadonlyArray<number>,
  ports: ReadonlyArray<number>,
  shared: boolean,
): Array<Set<number>> => {
  const outbound = outboundNodePorts(pids, new Set(ports))
  if (!shared) return outbound
  const listed = outbound.map((dialled) => new Set(dialled))
  for (const [i, dialled] of outbound.entries()) {
    const port = ports[i]
    if (port === undefined) continue
    for (const peerPort of dialled) listed[ports.indexOf(peerPort)]?.add(port)
  }
  return listed
}
