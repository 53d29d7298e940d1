import { WebSocket, WebSocketServer } from "ws"
import { readSpecFrame } from "./strictSpecPeer.js"

/**
 * `startStrictSpecPeer` on real sockets, written as a published index.js would be: a WebSocketServer
 * on `port`, a socket to every known peer and to every address a HANDSHAKE lists, its HANDSHAKE sent
 * on open. A frame it cannot read (readSpecFrame) ends it as an uncaught throw ends such a process:
 * `crashed` resolves with the frame and every socket and the server close.
 */
export const startStrictSpecPeerWs = (port: number, knownPeers: ReadonlyArray<string>) => {
  const self = `ws://localhost:${port}`
  const connected = new Set<string>()
  const attempting = new Set<string>()
  const sockets = new Set<WebSocket>()
  const changed: Array<() => void> = []
  const notify = () => {
    for (const waiter of changed.splice(0)) waiter()
  }
  let crash: (frame: string) => void = () => undefined
  const crashed = new Promise<string>((resolve) => {
    crash = resolve
  })
  const server = new WebSocketServer({ port, host: "localhost" })

  const stop = () => {
    for (const socket of sockets) socket.terminate()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  }
  const onMessage = (data: WebSocket.RawData) => {
    const verdict = readSpecFrame(String(data), false)
    if (verdict._tag === "Crash") {
      crash(verdict.frame)
      void stop()
    } else if (verdict._tag === "Handshake") {
      for (const address of verdict.addresses) connect(address)
    }
  }
  const connect = (address: string) => {
    if (address === self || connected.has(address) || attempting.has(address)) return
    attempting.add(address)
    const socket = new WebSocket(address)
    sockets.add(socket)
    socket.on("open", () => {
      attempting.delete(address)
      connected.add(address)
      socket.send(JSON.stringify({ type: "HANDSHAKE", data: [self, ...connected] }))
      notify()
    })
    socket.on("message", onMessage)
    socket.on("error", () => attempting.delete(address))
    socket.on("close", () => {
      sockets.delete(socket)
      attempting.delete(address)
      if (connected.delete(address)) notify()
    })
  }
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("message", onMessage)
    socket.on("close", () => sockets.delete(socket))
  })
  const listening = new Promise<void>((resolve) => server.once("listening", () => resolve()))

  /** Resolves once it is connected to every one of `addresses`. */
  const whenConnected = (addresses: ReadonlyArray<string>): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (addresses.every((address) => connected.has(address)) ? resolve() : changed.push(check))
      check()
    })

  return {
    address: self,
    listening: listening.then(() => {
      for (const address of knownPeers) connect(address)
    }),
    crashed,
    whenConnected,
    stop,
  }
}
