import { randomUUID } from "node:crypto"
import { Context, Effect, Exit, Layer, Mailbox } from "effect"
import type { Address } from "../domain/Address.js"
import { type Connection, DialError, ListenError, Transport } from "../services/Transport.js"
import { type Inbox, makeInbox } from "./inbox.js"

/**
 * An in-process network shared by every TransportMemory node of a test: listeners by `host:port`.
 * Provide one MemoryNetwork to many nodes so they can reach each other.
 */
export class MemoryNetwork extends Context.Tag("meshnode/MemoryNetwork")<
  MemoryNetwork,
  { readonly listeners: Map<string, MemoryListener> }
>() {}

/**
 * A listening TransportMemory: where its accepted connections go, whether its end answers pings, and
 * its node id (as WebSocket nodes exchange theirs in a header).
 */
export interface MemoryListener {
  readonly accepted: Mailbox.Mailbox<Connection>
  readonly answersPings: () => boolean
  readonly nodeId: string | undefined
}

export const layerNetwork = Layer.sync(MemoryNetwork, () => ({ listeners: new Map() }))

const keyOf = (address: string): string => address.replace(/^wss?:\/\//, "")

const always = () => true

/**
 * Two connected ends: what one sends, the other receives; closing either closes both. A ping on one
 * end is answered while the other end's owner answers pings (a stand-in for a frozen process). Each
 * end knows the other's node id, when there is one; the right (inbound) end knows the left one's IP,
 * when given.
 */
const makeConnectionPair = (
  leftName: string,
  rightName: string,
  answers: { readonly left: () => boolean; readonly right: () => boolean } = { left: always, right: always },
  nodeIds: { readonly left?: string | undefined; readonly right?: string | undefined } = {},
  leftIp?: string,
) =>
  Effect.gen(function* () {
    const inboxOf = makeInbox<never>({ onFailure: () => Effect.void })
    const leftInbox = yield* inboxOf
    const rightInbox = yield* inboxOf
    const close = Effect.sync(() => {
      leftInbox.end(Exit.void)
      rightInbox.end(Exit.void)
    })
    const end = (
      inbox: Inbox<never>,
      outbox: Inbox<never>,
      remote: string,
      remoteAnswers: () => boolean,
      peerNodeId: string | undefined,
    ): Connection => ({
      remote,
      receive: inbox.receive,
      send: (frame) => Effect.sync(() => outbox.offer(frame)),
      close,
      unsafePing: (onPong) => {
        if (remoteAnswers()) onPong()
      },
      // In memory nothing waits to be sent: a peer never leaves anything unread.
      stoppedReading: () => false,
      ...(peerNodeId === undefined ? {} : { peerNodeId }),
    })
    return [
      end(leftInbox, rightInbox, rightName, answers.right, nodeIds.right),
      {
        ...end(rightInbox, leftInbox, leftName, answers.left, nodeIds.left),
        ...(leftIp === undefined ? {} : { remoteIp: leftIp }),
      },
    ] as const
  })

/**
 * A transport on the in-memory network, listening and dialling as `host`. `spec: true` makes one that
 * sends no node id, like a spec node's (or the spec's test helpers').
 */
export const make = (host = "localhost", options: { readonly spec?: boolean } = {}) =>
  Effect.gen(function* () {
    const network = yield* MemoryNetwork
    const nodeId = options.spec === true ? undefined : randomUUID()
    let nextEphemeralPort = 50_000
    // Per transport, like a process: a node whose transport stops answering looks frozen to its peers.
    let answering = true
    const answersPings = () => answering

    const listen = (port: number) =>
      Effect.gen(function* () {
        const key = `${host}:${port}`
        if (network.listeners.has(key)) {
          return yield* new ListenError({ reason: "AddressInUse", port, message: `port ${port} is already in use` })
        }
        const accepted = yield* Mailbox.make<Connection>()
        const listener: MemoryListener = { accepted, answersPings, nodeId }
        yield* Effect.acquireRelease(
          Effect.sync(() => network.listeners.set(key, listener)),
          () =>
            Effect.sync(() => {
              if (network.listeners.get(key) === listener) network.listeners.delete(key)
            }).pipe(Effect.andThen(accepted.shutdown)),
        )
        return { port, accepted }
      })

    const dial = (address: Address) =>
      Effect.gen(function* () {
        const listener = network.listeners.get(keyOf(address))
        if (listener === undefined) {
          return yield* new DialError({ address, message: `connect ECONNREFUSED ${keyOf(address)}` })
        }
        const [outbound, inbound] = yield* makeConnectionPair(
          `${host}:${nextEphemeralPort++}`,
          address,
          { left: answersPings, right: listener.answersPings },
          { left: nodeId, right: listener.nodeId },
          // The dialler's host as its IP (localhost as the loopback IP): what an accepting node sees.
          host === "localhost" ? "127.0.0.1" : host,
        )
        yield* Effect.addFinalizer(() => outbound.close)
        if (!listener.accepted.unsafeOffer(inbound)) {
          return yield* new DialError({ address, message: `connect ECONNREFUSED ${keyOf(address)}` })
        }
        return outbound
      })

    return {
      ...Transport.of(nodeId === undefined ? { listen, dial } : { listen, dial, nodeId }),
      /** Whether this transport's connections answer pings; false simulates a frozen process. */
      setAnswersPings: (answers: boolean) =>
        Effect.sync(() => {
          answering = answers
        }),
    }
  })

export const layer = (host = "localhost") => Layer.effect(Transport, make(host))
