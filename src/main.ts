import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Chunk, Effect, Either, Layer } from "effect"
import { parseNodeArguments } from "./cli/nodeArguments.js"
import * as AdmissionRef from "./layers/AdmissionRef.js"
import * as DoorLimitsConfig from "./layers/DoorLimitsConfig.js"
import * as HttpHandlerNode from "./layers/HttpHandlerNode.js"
import * as LimitsConfig from "./layers/LimitsConfig.js"
import * as Logging from "./layers/Logging.js"
import * as NodeConfigFolder from "./layers/NodeConfigFolder.js"
import * as NodeStatsRef from "./layers/NodeStatsRef.js"
import * as PeerStoreRef from "./layers/PeerStoreRef.js"
import * as Tracing from "./layers/Tracing.js"
import * as TransactionPoolFile from "./layers/TransactionPoolFile.js"
import * as TransportWs from "./layers/TransportWs.js"
import { startNode } from "./protocol/Node.js"
import { UnwrittenAtStop } from "./protocol/shutdown.js"
import { Limits } from "./services/Limits.js"
import { NodeConfig } from "./services/NodeConfig.js"
import { describeStartupError } from "./startupError.js"
import { usage, version } from "./usage.js"

const parsed = parseNodeArguments(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  process.stderr.write(`meshnode: ${parsed.left} (see --help)\n`)
  process.exit(2)
}
if (parsed.right._tag !== "Run") {
  process.stdout.write(parsed.right._tag === "Help" ? usage : `${version}\n`)
  process.exit(0)
}
const { folder, overrides } = parsed.right

const PoolLive = Layer.unwrapEffect(
  Effect.map(NodeConfig, (config) => TransactionPoolFile.layer(`${config.folder}/transactions.json`, config.pool)),
).pipe(Layer.provide(NodeStatsRef.layer))
// Plain HTTP on the node's own port (/status, /metrics, the dashboard) reads the node's own services.
const HttpLive = HttpHandlerNode.layer.pipe(
  Layer.provide(Layer.mergeAll(PoolLive, PeerStoreRef.layer, NodeStatsRef.layer)),
)
const TransportLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const limits = yield* Limits
    return TransportWs.layer({
      host: config.host,
      maxPayload: limits.maxPayloadBytes,
      maxSendBuffer: limits.maxSendBufferBytes,
      dialTimeoutMillis: limits.dialTimeoutMillis,
    })
  }),
).pipe(Layer.provide(HttpLive))
const TracingLive = Layer.unwrapEffect(Effect.map(NodeConfig, (config) => Tracing.layer(config.address)))

const NodeLive = Layer.scopedDiscard(startNode).pipe(
  Layer.provide(Layer.mergeAll(PoolLive, TransportLive, PeerStoreRef.layer, NodeStatsRef.layer, AdmissionRef.layer)),
  Layer.provide(TracingLive),
  Layer.provideMerge(LimitsConfig.layer),
  Layer.provideMerge(DoorLimitsConfig.layer),
  Layer.provideMerge(NodeConfigFolder.layer(folder, overrides)),
  Layer.provide(NodeContext.layer),
  Layer.provide(Logging.layerFromEnv),
)

Layer.launch(NodeLive).pipe(
  // A bad folder, a corrupt pool or a taken port: one clear line, then exit 1.
  Effect.tapError((error) => Effect.logError(describeStartupError(error, folder))),
  // A node that stopped with transactions it never wrote has said so (shutdown.ts): it only exits non-zero.
  Effect.tapDefect((cause) =>
    Cause.defects(cause).pipe(Chunk.every((defect) => defect instanceof UnwrittenAtStop))
      ? Effect.void
      : Effect.logError("unexpected failure", cause),
  ),
  // Text lines when LOG_LEVEL/LOG_FORMAT are refused, so the refusal itself is printed.
  Effect.provide(Logging.layerFromEnvOrText),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true }),
)
