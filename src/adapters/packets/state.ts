import type { QoS } from '../../events.ts'
import type { Webhook } from '../../webhook-types.ts'
import type { MessageOrigin, MessageOrigins } from './origins.ts'
import type { ClientSessions } from './sessions.ts'

/** A message sent to the client with QoS 1 or 2, kept until the client's PUBACK/PUBCOMP. */
export interface InflightMessage {
  topic: string
  qos: QoS
  retain: boolean
  payload: Uint8Array
  ts: number
  from_client_id: string | null
  from_username: string | undefined
}

/** What one MQTT connection has shown so far; every handler reads and updates it. */
export interface ConnectionState {
  webhook: Webhook
  /** Shared by a relay's connections to name the publisher of what is delivered; absent: `null`. */
  origins: MessageOrigins | undefined
  /** Shared by a relay's connections to tell what one connection's CONNACK did to another's; absent: each on its own. */
  sessions: ClientSessions | undefined
  ipaddress: string | undefined
  /** From CONNECT; v5 may replace an empty one with the CONNACK's assigned identifier. */
  clientid: string
  /** The client id the CONNECT carried. */
  requestedId: string
  username: string | undefined
  /** 3, 4 or 5; 4 until CONNECT says otherwise. */
  protocolVersion: number
  keepalive: number
  /** v3/v4 clean session. */
  clean: boolean
  /** v5 session expiry in seconds (absent means 0); the CONNACK and DISCONNECT may override it. */
  sessionExpiry: number
  /** CONNECT seen. */
  connecting: boolean
  /** A successful CONNACK seen. */
  connected: boolean
  /** The client sent DISCONNECT. */
  disconnectedByClient: boolean
  /** close() already ran. */
  closed: boolean
  /** SUBSCRIBE filters waiting for their SUBACK, by message id. */
  pendingSubscribes: Map<number, string[]>
  /** UNSUBSCRIBE filters waiting for their UNSUBACK, by message id. */
  pendingUnsubscribes: Map<number, string[]>
  /** Outbound QoS 1/2 messages waiting for the client's acknowledgement, by message id. */
  inflight: Map<number, InflightMessage>
  /** v5 topic aliases, per direction (each side sets its own). */
  inboundAliases: Map<number, string>
  outboundAliases: Map<number, string>
}

export function createConnectionState(
  webhook: Webhook,
  ipaddress: string | undefined,
  origins: MessageOrigins | undefined,
  sessions?: ClientSessions,
): ConnectionState {
  return {
    webhook,
    origins,
    sessions,
    ipaddress,
    clientid: '',
    requestedId: '',
    username: undefined,
    protocolVersion: 4,
    keepalive: 0,
    clean: true,
    sessionExpiry: 0,
    connecting: false,
    connected: false,
    disconnectedByClient: false,
    closed: false,
    pendingSubscribes: new Map(),
    pendingUnsubscribes: new Map(),
    inflight: new Map(),
    inboundAliases: new Map(),
    outboundAliases: new Map(),
  }
}

/**
 * Buffers that raw-stream taps allocated for one packet alone (by their `ArrayBuffer`): nothing else
 * writes to them or is pinned by them, so a payload sliced from one is kept as it is.
 */
const exclusiveBuffers = new WeakSet<ArrayBufferLike>()

/** Marks `packet` as a buffer of its own, whose payload `ownBytes` need not copy. */
export function markExclusive(packet: Buffer): void {
  exclusiveBuffers.add(packet.buffer)
}

/**
 * The payload as bytes a queued event may keep: a copy, so that it does not pin the socket chunk it was
 * sliced from (or share memory its caller may reuse), except when it already lies in a packet's own buffer.
 */
export function ownBytes(payload: string | Buffer): Buffer {
  if (typeof payload !== 'string' && exclusiveBuffers.has(payload.buffer)) return payload
  return Buffer.from(payload)
}

/** Resolves a v5 topic alias: a PUBLISH with a topic and an alias sets it, one with only an alias uses it. */
export function resolveTopic(
  aliases: Map<number, string>,
  topic: string,
  alias: number | undefined,
): string | undefined {
  if (alias === undefined) return topic
  if (topic.length > 0) {
    aliases.set(alias, topic)
    return topic
  }
  return aliases.get(alias)
}

/** Who published a delivered message: from the relay's memory, else `null` like a broker's own message. */
export function originOf(
  state: ConnectionState,
  topic: string,
  payload: Uint8Array,
): { from_client_id: string | null; from_username: string | undefined } {
  const origin: MessageOrigin | undefined = state.origins?.find(topic, payload)
  return { from_client_id: origin?.clientid ?? null, from_username: origin?.username }
}
