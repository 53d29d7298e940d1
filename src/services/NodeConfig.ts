import { Context, type Option } from "effect"
import type { Address } from "../domain/Address.js"

/** What a node knows about itself, read once at start-up. */
export interface NodeConfigShape {
  /** The node's folder (holds .env, known-peers.json and transactions.json). */
  readonly folder: string
  /** The port the WebSocket server listens on. */
  readonly port: number
  /** The interface to listen on. */
  readonly host: string
  /** The address this node announces in its HANDSHAKE. */
  readonly address: Address
  /** known-peers.json, normalised. */
  readonly knownPeers: ReadonlyArray<Address>
  /** MY_PUBLIC_KEY from .env: the toAddress of transactions this node's add-transaction makes. */
  readonly publicKey: Option.Option<string>
}

export class NodeConfig extends Context.Tag("meshnode/NodeConfig")<NodeConfig, NodeConfigShape>() {}
