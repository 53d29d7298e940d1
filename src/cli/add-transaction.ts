import { Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Option } from "effect"
import { localAddress } from "../domain/Address.js"
import { encodeFrame } from "../domain/Message.js"
import { makeTransaction } from "../domain/Transaction.js"
import { folderConfigProvider } from "../layers/NodeConfigFolder.js"
import * as TransportWs from "../layers/TransportWs.js"
import { Transport } from "../services/Transport.js"

/**
 * `npm run add-transaction -- nodes/node-N`: sends one new TRANSACTION of the spec's shape to that
 * node (toAddress from its MY_PUBLIC_KEY, a random amount 1..100) and prints it.
 */
Effect.gen(function* () {
  const path = yield* Path.Path
  const folder = path.resolve(process.argv[2] ?? ".")
  const provider = yield* folderConfigProvider(folder)
  const { port, publicKey } = yield* Effect.withConfigProvider(
    Config.all({ port: Config.port("PORT"), publicKey: Config.option(Config.string("MY_PUBLIC_KEY")) }),
    provider,
  )
  const tx = makeTransaction({
    fromAddress: null,
    toAddress: Option.getOrElse(publicKey, () => ""),
    amount: Math.floor(Math.random() * 100) + 1,
    timeStamp: Date.now(),
  })
  const transport = yield* Transport
  yield* Effect.scoped(
    Effect.gen(function* () {
      const connection = yield* transport.dial(localAddress(port))
      yield* connection.send(encodeFrame({ type: "TRANSACTION", data: tx }))
    }),
  )
  yield* Console.log(JSON.stringify(tx, null, 2))
}).pipe(
  Effect.tapError((error) => Console.error(`add-transaction: ${error.message}`)),
  Effect.provide(TransportWs.layer()),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true }),
)
