import { WebSocket, WebSocketServer } from "ws"

/**
 * The spec's test helpers, behaving as boilerplate-notes.md describes them, so the conformance test
 * probes our nodes exactly as the freeCodeCamp tests do.
 */

/** Opens a WebSocket: true on open, false on error. */
export const canConnectToSocket = (address: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new WebSocket(address)
    socket.on("open", () => {
      socket.close()
      resolve(true)
    })
    socket.on("error", () => resolve(false))
  })

export interface ProbeOptions {
  readonly myPort: number
  readonly theirAddress?: string
  readonly connectOnly?: boolean
}

export interface HandshakeMessage {
  readonly type: string
  readonly data: ReadonlyArray<string>
}

/**
 * Starts a server on `myPort`, dials `theirAddress`, sends a HANDSHAKE listing `ws://localhost:<myPort>`
 * and closes that socket at once; then waits for the node to dial back. With `connectOnly` resolves
 * true on that connection; otherwise with the first message the node sends on it, if that is a
 * HANDSHAKE. Closes the node's socket and its own server, and gives up after 5 seconds (undefined).
 */
export const startSocketServerAndHandshake = ({
  myPort,
  theirAddress = "ws://localhost:4001",
  connectOnly = false,
}: ProbeOptions): Promise<HandshakeMessage | true | undefined> =>
  new Promise((resolve) => {
    const server = new WebSocketServer({ port: myPort })
    let settled = false
    const finish = (result: HandshakeMessage | true | undefined, socket?: WebSocket) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket?.close()
      server.close()
      resolve(result)
    }
    const timer = setTimeout(() => finish(undefined), 5_000)
    server.on("connection", (socket) => {
      if (connectOnly) return finish(true, socket)
      socket.once("message", (data) => {
        const message = JSON.parse(data.toString()) as HandshakeMessage
        if (message.type === "HANDSHAKE") finish(message, socket)
      })
    })
    server.on("listening", () => {
      const client = new WebSocket(theirAddress)
      client.on("open", () => {
        client.send(JSON.stringify({ type: "HANDSHAKE", data: [`ws://localhost:${myPort}`] }))
        client.close()
      })
      client.on("error", () => {})
    })
  })

/** Like the spec's probe, but asserts the result is a handshake (for typed test code). */
export const probeHandshake = async (options: ProbeOptions): Promise<HandshakeMessage> => {
  const result = await startSocketServerAndHandshake(options)
  if (result === undefined || result === true) {
    throw new Error(`no HANDSHAKE from ${options.theirAddress ?? "ws://localhost:4001"} within 5 s`)
  }
  return result
}
