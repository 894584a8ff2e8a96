import type { EventEmitter } from 'node:events'
import type { Aedes, Client } from 'aedes'
import type { HookEvent, HookEventName, QoS } from '../../events.ts'
import type { Webhook } from '../../webhook-types.ts'

/** A message sent to a subscriber, kept until its PUBACK (QoS 1) or PUBCOMP (QoS 2) arrives. */
export interface InflightMessage {
  topic: string
  qos: QoS
  retain: boolean
  payload: Uint8Array
  from_client_id: string | null
  from_username: string | undefined
  /** When aedes sent it; the acked event keeps the delivery's `ts`. */
  ts: number
}

/** What the adapter knows about one connection, keyed by aedes' `Client` object (never by a client id). */
export interface ClientRecord {
  client: Client
  /** The client id as the CONNECT carried it, before any hook rewrote it (`''` when the client let the broker pick one). */
  requestedId: string
  /** As sent until the app's `preConnect` has answered; then the one aedes authenticates. */
  username: string | undefined
  ipaddress: string | undefined
  keepalive: number
  protoVer: number
  clean: boolean
  /** Until the CONNACK is out, `authorizeSubscribe` calls restore a persistent session: no client subscribe. */
  connackSent: boolean
  /** Accepted by the broker (CONNACK success): aedes will emit `clientDisconnect` for it. */
  connected: boolean
  connectedAt: number | undefined
  /** Granted filters and their QoS, to tell the QoS a delivery goes out with and which unsubscribes removed something. */
  subscriptions: Map<string, QoS>
  /** Sent QoS 1 messages awaiting PUBACK, by packet id. */
  awaitingPuback: Map<number, InflightMessage>
  /** Sent QoS 2 messages awaiting PUBREC, by packet id. */
  awaitingPubrec: Map<number, InflightMessage>
  /** QoS 2 messages whose PUBREC came, by packet id, awaiting PUBCOMP. */
  awaitingPubcomp: Map<number, InflightMessage>
  /** Removes what the adapter attached to this connection. */
  release: () => void
}

/** A filter as the broker subscribed it. */
export interface GrantedSubscription {
  topic: string
  qos: QoS
}

/** Which events the webhook asked for, looked up once so that per-message paths test a boolean. */
export type Wanted = Readonly<Record<HookEventName, boolean>>

/** Most client ids whose username is remembered after they leave, for messages delivered later from a queue. */
export const MAX_REMEMBERED_USERNAMES = 100_000

/** Who published a message. */
export interface Publisher {
  clientId: string | null
  username: string | undefined
}

/** The state of one `attachAedes` call; two webhooks on one broker have one each. */
export interface AdapterState {
  broker: Aedes
  webhook: Webhook
  wanted: Wanted
  /** False once detached: wrappers that could not be unhooked pass straight through. */
  active: boolean
  records: Map<Client, ClientRecord>
  /**
   * What the app's `authorizeSubscribe` answered for each filter aedes asked about, by the filter object of
   * the SUBSCRIBE (the one its `subscribe` event hands back): the filter and QoS it subscribed, `null` if
   * refused. aedes' event and SUBACK keep the packet's filter and QoS, even when the hook rewrote them.
   */
  decisions: WeakMap<object, GrantedSubscription | null>
  /**
   * Connections the broker closed to register a newer one with the same id (aedes' `registerClient`), and
   * that newer one: a takeover is this fact, never a guess from a pending CONNECT.
   */
  takenOverBy: WeakMap<Client, Client>
  /** The username each connection was authenticated with, kept past its record (a will is published late). */
  usernamesByClient: WeakMap<Client, string | undefined>
  /**
   * Persistent sessions the broker keeps while no connection holds them, by client id (aedes keys its
   * stored sessions so), with the username of their last connection.
   */
  offlineSessions: Map<string, string | undefined>
  /** The username behind each client id seen connecting: only for messages whose publisher aedes names by id alone. */
  usernames: Map<string, string | undefined>
  /** Who published each retained message: aedes strips the publisher when it replays them on subscribe. */
  retainedPublishers: Map<string, Publisher>
  /**
   * Who published each message, by its payload object, which aedes hands on to every delivery of it (live,
   * queued for an offline subscriber, retained in memory); weak, so gone with the message.
   */
  publishers: WeakMap<object, Publisher>
}

/** Hands `event` to the webhook; a webhook that throws is reported, never thrown into the broker. */
export function emit(state: AdapterState, event: HookEvent): void {
  try {
    state.webhook.handle(event)
  } catch (error) {
    report(state, error)
  }
}

/** Reports a problem of the adapter itself; never throws. */
export function report(state: AdapterState, error: unknown): void {
  try {
    state.webhook.reportError(error instanceof Error ? error : new Error(String(error)))
  } catch {
    // A reporter that throws has nowhere left to report to; the broker must go on.
  }
}

/** Runs one lifecycle step of the adapter, reporting whatever it throws instead of throwing it into aedes. */
export function guarded<A extends unknown[]>(
  state: AdapterState,
  step: (state: AdapterState, ...args: A) => void,
): (...args: A) => void {
  return (...args) => {
    if (!state.active) return
    try {
      step(state, ...args)
    } catch (error) {
      report(state, error)
    }
  }
}

/** Remembers `clientId`'s username, keeping the most recent ones. */
export function rememberUsername(state: AdapterState, clientId: string, username: string | undefined): void {
  state.usernames.delete(clientId)
  state.usernames.set(clientId, username)
  if (state.usernames.size > MAX_REMEMBERED_USERNAMES) {
    const oldest = state.usernames.keys().next().value
    if (oldest !== undefined) state.usernames.delete(oldest)
  }
}

/** The username of `clientId`, from its live connection or the last time it connected. */
export function usernameOf(state: AdapterState, clientId: string | null | undefined): string | undefined {
  if (clientId === null || clientId === undefined) return undefined
  return state.usernames.get(clientId)
}

/** The username `client` was authenticated with, even once its connection is gone (a will is published after that). */
export function usernameOfClient(state: AdapterState, client: Client): string | undefined {
  const record = state.records.get(client)
  if (record) return record.username
  return state.usernamesByClient.has(client)
    ? state.usernamesByClient.get(client)
    : usernameOf(state, client.id)
}

/** The parser aedes reads a client's packets with: not public API, pinned by `test/aedes-private-fields.test.ts`. */
export function packetParserOf(client: Client): EventEmitter | undefined {
  const parser = (client as unknown as { _parser?: unknown })._parser
  return parser !== null && typeof parser === 'object' && typeof (parser as EventEmitter).on === 'function'
    ? (parser as EventEmitter)
    : undefined
}

/** The packet id aedes gives the next QoS 1/2 message it sends `client` without one: pinned like `packetParserOf`. */
export function nextPacketIdOf(client: Client): number | undefined {
  const next = (client as unknown as { _nextId?: unknown })._nextId
  return typeof next === 'number' ? next : undefined
}

/** Whether the client sent DISCONNECT (aedes' own flag, which decides its will): pinned like `packetParserOf`. */
export function sentDisconnect(client: Client): boolean {
  return (client as unknown as { _disconnected?: unknown })._disconnected === true
}

/** The client's address, read while the socket is still open (proxy protocol details first). */
export function remoteAddressOf(client: Client): string | undefined {
  const details = (client as unknown as { connDetails?: { ipAddress?: unknown } | null }).connDetails
  if (typeof details?.ipAddress === 'string') return details.ipAddress
  const conn = client.conn as { remoteAddress?: unknown }
  if (typeof conn.remoteAddress === 'string') return conn.remoteAddress
  const viaRequest = client.req?.socket?.remoteAddress
  return typeof viaRequest === 'string' ? viaRequest : undefined
}

/** Bytes of a payload; server code may publish a string. */
export function payloadBytes(payload: unknown): Uint8Array {
  if (payload instanceof Uint8Array) return payload
  if (typeof payload === 'string') return Buffer.from(payload)
  return new Uint8Array(0)
}
