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
