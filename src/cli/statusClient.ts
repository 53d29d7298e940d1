import { HttpClient, HttpClientResponse } from "@effect/platform"
import { type Duration, Effect, type Schema } from "effect"
import { NodeStatus } from "../domain/NodeStatus.js"

/** `GET path` of the node on `port`, decoded by `schema`; None when it does not answer in time (it is down). */
export const fetchFromNode = <A, I>(
  port: number,
  path: string,
  schema: Schema.Schema<A, I>,
  timeout: Duration.DurationInput = "2 seconds",
) =>
  Effect.gen(function* () {
    const client = HttpClient.filterStatusOk(yield* HttpClient.HttpClient)
    const response = yield* client.get(`http://localhost:${port}${path}`)
    return yield* HttpClientResponse.schemaBodyJson(schema)(response)
  }).pipe(Effect.timeout(timeout), Effect.option)

/** `GET /status` of the node on `port`; None when it does not answer in time (it is down). */
export const fetchStatus = (port: number, timeout: Duration.DurationInput = "2 seconds") =>
  fetchFromNode(port, "/status", NodeStatus, timeout)
