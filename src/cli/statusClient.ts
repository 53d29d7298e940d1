import { HttpClient, HttpClientResponse } from "@effect/platform"
import { type Duration, Effect } from "effect"
import { NodeStatus } from "../domain/NodeStatus.js"

/** `GET /status` of the node on `port`; None when it does not answer in time (it is down). */
export const fetchStatus = (port: number, timeout: Duration.DurationInput = "2 seconds") =>
  Effect.gen(function* () {
    const client = HttpClient.filterStatusOk(yield* HttpClient.HttpClient)
    const response = yield* client.get(`http://localhost:${port}/status`)
    return yield* HttpClientResponse.schemaBodyJson(NodeStatus)(response)
  }).pipe(Effect.timeout(timeout), Effect.option)
