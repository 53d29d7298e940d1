import { request } from "node:http"
import { Context, Effect, Layer } from "effect"
import { WebSocket } from "ws"
import * as AdmissionRef from "../../src/layers/AdmissionRef.js"
import * as DoorLimitsConfig from "../../src/layers/DoorLimitsConfig.js"
import * as TransportWs from "../../src/layers/TransportWs.js"
import { Admission, type DoorLimitsShape } from "../../src/services/Admission.js"
import { HttpHandler } from "../../src/services/HttpHandler.js"
import { Transport } from "../../src/services/Transport.js"

/**
 * A WebSocket transport listening on a free port of 127.0.0.1 with these door
 * limits, answering "ok" to plain HTTP; with `admission`, the node's Admission service checks upgrades.
 */
export const listenWithDoor = (limits: Partial<DoorLimitsShape>, options: { readonly admission?: boolean } = {}) =>
  Effect.gen(function* () {
    const ok = Layer.succeed(HttpHandler, {
      handle: () => Effect.succeed({ status: 200, headers: { "content-type": "text/plain" }, body: "ok\n" }),
    })
    const door = Layer.provideMerge(
      options.admission === true ? AdmissionRef.layer : Layer.empty,
      DoorLimitsConfig.layerStatic(limits),
    )
    const context = yield* Layer.build(
      TransportWs.layer({ ...TransportWs.defaultOptions, host: "127.0.0.1" }).pipe(
        Layer.provide(ok),
        Layer.provideMerge(door),
      ),
    )
    const transport = Context.get(context, Transport)
    const { port, accepted } = yield* Effect.provide(transport.listen(0), context)
    return { port, accepted, admission: Context.getOption(context, Admission) }
  })

/** GET `path` on loopback: the status code. */
export const httpStatus = (port: number, path: string) =>
  Effect.async<number, Error>((resume) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      response.resume()
      resume(Effect.succeed(response.statusCode ?? 0))
    })
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end()
  })

/**
 * Opens a WebSocket to the port from `localAddress` (a loopback IP): "open", or the HTTP status it
 * was refused with. The socket closes with the scope.
 */
export const openSocket = (port: number, localAddress = "127.0.0.1") =>
  Effect.acquireRelease(
    Effect.sync(() => new WebSocket(`ws://127.0.0.1:${port}`, { localAddress })),
    (socket) => Effect.sync(() => socket.terminate()),
  ).pipe(
    Effect.flatMap((socket) =>
      Effect.async<"open" | number>((resume) => {
        socket.on("error", () => {})
        socket.once("open", () => resume(Effect.succeed("open")))
        socket.once("unexpected-response", (_request, response) => resume(Effect.succeed(response.statusCode ?? 0)))
        socket.once("close", () => resume(Effect.succeed(0)))
      }),
    ),
  )
