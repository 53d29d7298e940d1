import { Context, type Effect } from "effect"
import type { DoorVerdict } from "../domain/ipAdmission.js"
import type { MisbehaviourReason } from "../domain/misbehaviour.js"

/** What the node's door (its HTTP server) allows each IP, and how long it waits for slow clients. */
export interface DoorLimitsShape {
  /** Open WebSocket connections from one IP. */
  readonly maxConnectionsPerIp: number
  /** New WebSocket connections one IP may open a minute (a burst of as many at once). */
  readonly newConnectionsPerIpPerMinute: number
  /** Misbehaviour score at which an IP is banned (docs/limits.md lists the points). */
  readonly banScore: number
  /** How long a ban lasts, in seconds. */
  readonly banSeconds: number
  /** Plain HTTP requests one IP may make a second, sustained. */
  readonly httpRequestsPerSecond: number
  /** Plain HTTP requests one IP may make at once above that rate. */
  readonly httpRequestBurst: number
  /** Plain HTTP requests answered at once, from everyone together. */
  readonly httpInFlight: number
  /** How long a client may take to send a request's headers (an upgrade request's too). */
  readonly httpHeadersTimeoutMillis: number
  /** How long a client may take to send a whole request. */
  readonly httpRequestTimeoutMillis: number
  /** How long an accepted upgrade request may take to become a WebSocket. */
  readonly upgradeTimeoutMillis: number
}

export const defaultDoorLimits: DoorLimitsShape = {
  // A mesh of 20 nodes on one machine holds at most 2 connections per peer from 127.0.0.1: 38.
  maxConnectionsPerIp: 64,
  // A forming mesh of 20 opens about 40 from one IP at once; reconnecting loops are what this stops.
  newConnectionsPerIpPerMinute: 120,
  banScore: 100,
  banSeconds: 600,
  // A dashboard polls each node once a second; tests and benches poll every few ms at most.
  httpRequestsPerSecond: 50,
  httpRequestBurst: 200,
  httpInFlight: 64,
  httpHeadersTimeoutMillis: 10_000,
  httpRequestTimeoutMillis: 15_000,
  upgradeTimeoutMillis: 10_000,
}

/** Each door limit's environment variable (also read from the node folder's .env) and what it bounds. */
export const doorLimitVariables: {
  readonly [K in keyof DoorLimitsShape]: readonly [variable: string, description: string]
} = {
  maxConnectionsPerIp: ["MAX_CONNECTIONS_PER_IP", "open WebSocket connections from one IP"],
  newConnectionsPerIpPerMinute: ["NEW_CONNECTIONS_PER_IP_PER_MINUTE", "new WebSocket connections from one IP a minute"],
  banScore: ["BAN_SCORE", "misbehaviour score at which an IP is banned"],
  banSeconds: ["BAN_SECONDS", "seconds a ban lasts"],
  httpRequestsPerSecond: ["HTTP_REQUESTS_PER_SECOND", "plain HTTP requests from one IP a second"],
  httpRequestBurst: ["HTTP_REQUEST_BURST", "plain HTTP requests from one IP at once above that rate"],
  httpInFlight: ["HTTP_IN_FLIGHT", "plain HTTP requests answered at once"],
  httpHeadersTimeoutMillis: ["HTTP_HEADERS_TIMEOUT_MS", "milliseconds a client may take to send its headers"],
  httpRequestTimeoutMillis: ["HTTP_REQUEST_TIMEOUT_MS", "milliseconds a client may take to send a request"],
  upgradeTimeoutMillis: ["UPGRADE_TIMEOUT_MS", "milliseconds an upgrade may take to become a WebSocket"],
}

/** The door's limits: a Reference, so code reads them without a requirement and tests override them. */
export class DoorLimits extends Context.Reference<DoorLimits>()("meshnode/DoorLimits", {
  defaultValue: (): DoorLimitsShape => defaultDoorLimits,
}) {}

/**
 * Who may connect, per IP: connection caps checked before a WebSocket upgrade completes, and a
 * misbehaviour score that bans an IP for a while once it reaches `banScore`.
 */
export interface AdmissionShape {
  /** A new connection from `ip`: admitted (and counted until `release`) or refused with a reason. */
  readonly admit: (ip: string | undefined) => Effect.Effect<DoorVerdict>
  /** An admitted connection from `ip` has closed. */
  readonly release: (ip: string | undefined) => Effect.Effect<void>
  /**
   * `ip` misbehaved: adds to its score; past the ban score it is refused for `banSeconds` (logged
   * once). An undefined IP is ignored.
   */
  readonly report: (ip: string | undefined, reason: MisbehaviourReason) => Effect.Effect<void>
}

export class Admission extends Context.Tag("meshnode/Admission")<Admission, AdmissionShape>() {}
