/**
 * The normalized events an adapter hands to `webhook.handle()`.
 *
 * Each event carries the same fields as the JSON body it becomes (SPEC §4), named the same, except:
 * `event` stands in place of `action`, `payload` is bytes (encoded only by `formatEvent`), `username` and
 * `from_username` may be `undefined`, and `ts`/`connected_at` default to the time of `handle()`.
 */

export type QoS = 0 | 1 | 2

/** The config names of all twelve events, in the order NanoMQ's docs list them. */
export const HOOK_EVENT_NAMES = [
  'on_client_connect',
  'on_client_connack',
  'on_client_connected',
  'on_client_disconnected',
  'on_client_subscribe',
  'on_client_unsubscribe',
  'on_session_subscribed',
  'on_session_unsubscribed',
  'on_session_terminated',
  'on_message_publish',
  'on_message_delivered',
  'on_message_acked',
] as const

export type HookEventName = (typeof HOOK_EVENT_NAMES)[number]

/** Events whose rules may carry a `topic` filter. */
export const TOPIC_EVENT_NAMES: ReadonlySet<HookEventName> = new Set([
  'on_client_subscribe',
  'on_client_unsubscribe',
  'on_session_subscribed',
  'on_session_unsubscribed',
  'on_message_publish',
  'on_message_delivered',
  'on_message_acked',
])

/** Events about a message; those on `$SYS/...` topics never fire. */
export const MESSAGE_EVENT_NAMES: ReadonlySet<HookEventName> = new Set([
  'on_message_publish',
  'on_message_delivered',
  'on_message_acked',
])

interface ClientFields {
  clientid: string
  username?: string | undefined
}

export interface ClientConnectEvent extends ClientFields {
  event: 'on_client_connect'
  /** The client's address, as the socket saw it; `null` in the body when unknown. */
  ipaddress?: string | undefined
  keepalive: number
  proto_ver: number
}

export interface ClientConnackEvent extends ClientFields {
  event: 'on_client_connack'
  proto_ver: number
  keepalive: number
  conn_ack: 'success' | 'fail'
}

export interface ClientConnectedEvent extends ClientFields {
  event: 'on_client_connected'
  ipaddress?: string | undefined
  keepalive: number
  proto_ver: number
  /** Milliseconds since the epoch; defaults to the time of `handle()`. */
  connected_at?: number | undefined
}

export interface ClientDisconnectedEvent extends ClientFields {
  event: 'on_client_disconnected'
  /** `'normal'` when the client sent DISCONNECT, `'abnormal'` otherwise. */
  reason: 'normal' | 'abnormal'
}

export interface ClientSubscribeEvent extends ClientFields {
  event: 'on_client_subscribe'
  topic: string
  opts: { qos: QoS }
}

export interface ClientUnsubscribeEvent extends ClientFields {
  event: 'on_client_unsubscribe'
  topic: string
  /** Always `{}` in the body, as EMQX sends it. */
  opts?: Record<string, never> | undefined
}

export interface SessionSubscribedEvent extends ClientFields {
  event: 'on_session_subscribed'
  topic: string
  /** The QoS as granted by the broker. */
  opts: { qos: QoS }
}

export interface SessionUnsubscribedEvent extends ClientFields {
  event: 'on_session_unsubscribed'
  topic: string
}

export interface SessionTerminatedEvent extends ClientFields {
  event: 'on_session_terminated'
  reason: string
}

interface MessageFields {
  topic: string
  qos: QoS
  retain: boolean
  payload: Uint8Array
  /** `null` for a message the broker published itself. */
  from_client_id: string | null
  from_username?: string | undefined
  /** Milliseconds since the epoch; defaults to the time of `handle()`. */
  ts?: number | undefined
}

export interface MessagePublishEvent extends MessageFields {
  event: 'on_message_publish'
}

export interface MessageDeliveredEvent extends MessageFields, ClientFields {
  event: 'on_message_delivered'
}

export interface MessageAckedEvent extends MessageFields, ClientFields {
  event: 'on_message_acked'
}

export type HookEvent =
  | ClientConnectEvent
  | ClientConnackEvent
  | ClientConnectedEvent
  | ClientDisconnectedEvent
  | ClientSubscribeEvent
  | ClientUnsubscribeEvent
  | SessionSubscribedEvent
  | SessionUnsubscribedEvent
  | SessionTerminatedEvent
  | MessagePublishEvent
  | MessageDeliveredEvent
  | MessageAckedEvent

/** The event of the given name. */
export type HookEventOf<N extends HookEventName> = Extract<HookEvent, { event: N }>

/** `"undefined"` stands for a missing username in every body, as NanoMQ sends it. */
type Username = string

/** The body of `on_client_connect` (EMQX 4's fields, without `node`). */
export interface ClientConnectBody {
  action: 'client_connect'
  clientid: string
  username: Username
  ipaddress: string | null
  keepalive: number
  proto_ver: number
}

/** The body of `on_client_connack`, NanoMQ's keys in NanoMQ's order. */
export interface ClientConnackBody {
  proto_ver: number
  keepalive: number
  conn_ack: 'success' | 'fail'
  username: Username
  clientid: string
  action: 'client_connack'
}

/** The body of `on_client_connected`. */
export interface ClientConnectedBody {
  action: 'client_connected'
  clientid: string
  username: Username
  ipaddress: string | null
  keepalive: number
  proto_ver: number
  /** Milliseconds since the epoch. */
  connected_at: number
}

/** The body of `on_client_disconnected`, NanoMQ's keys in NanoMQ's order. */
export interface ClientDisconnectedBody {
  reason: 'normal' | 'abnormal'
  username: Username
  clientid: string
  action: 'client_disconnected'
}

/** The body of `on_client_subscribe`: one per filter of a SUBSCRIBE. */
export interface ClientSubscribeBody {
  action: 'client_subscribe'
  clientid: string
  username: Username
  topic: string
  opts: { qos: QoS }
}

/** The body of `on_client_unsubscribe`: one per filter of an UNSUBSCRIBE. */
export interface ClientUnsubscribeBody {
  action: 'client_unsubscribe'
  clientid: string
  username: Username
  topic: string
  opts: Record<string, never>
}

/** The body of `on_session_subscribed`; `opts.qos` as granted. */
export interface SessionSubscribedBody {
  action: 'session_subscribed'
  clientid: string
  username: Username
  topic: string
  opts: { qos: QoS }
}

/** The body of `on_session_unsubscribed`. */
export interface SessionUnsubscribedBody {
  action: 'session_unsubscribed'
  clientid: string
  username: Username
  topic: string
}

/** The body of `on_session_terminated`. */
export interface SessionTerminatedBody {
  action: 'session_terminated'
  clientid: string
  username: Username
  reason: string
}

/** The body of `on_message_publish`, NanoMQ's keys in NanoMQ's order. */
export interface MessagePublishBody {
  /** Milliseconds since the epoch. */
  ts: number
  topic: string
  retain: boolean
  qos: QoS
  action: 'message_publish'
  from_username: Username
  /** `null` for a message the broker published itself. */
  from_client_id: string | null
  /** Encoded as `body.encoding` says: plain text, base64 or base62. */
  payload: string
}

/** The body of `on_message_delivered` and `on_message_acked`; `clientid`/`username` are the receiver's. */
export interface MessageDeliveryBody<A extends 'message_delivered' | 'message_acked'> {
  action: A
  clientid: string
  username: Username
  from_client_id: string | null
  from_username: Username
  topic: string
  qos: QoS
  retain: boolean
  /** Encoded as `body.encoding` says: plain text, base64 or base62. */
  payload: string
  /** Milliseconds since the epoch. */
  ts: number
}

/** Each event's JSON body, by the event's config name. */
export interface HookEventBodies {
  on_client_connect: ClientConnectBody
  on_client_connack: ClientConnackBody
  on_client_connected: ClientConnectedBody
  on_client_disconnected: ClientDisconnectedBody
  on_client_subscribe: ClientSubscribeBody
  on_client_unsubscribe: ClientUnsubscribeBody
  on_session_subscribed: SessionSubscribedBody
  on_session_unsubscribed: SessionUnsubscribedBody
  on_session_terminated: SessionTerminatedBody
  on_message_publish: MessagePublishBody
  on_message_delivered: MessageDeliveryBody<'message_delivered'>
  on_message_acked: MessageDeliveryBody<'message_acked'>
}

/** The JSON body of the event named `N` (of any event when `N` is the union), as `formatEvent` returns it. */
export type HookEventBody<N extends HookEventName = HookEventName> = HookEventBodies[N]
