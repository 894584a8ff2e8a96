/**
 * The normalized events an adapter hands to `webhook.handle()`.
 *
 * Each event carries the same fields as the JSON body it becomes (docs/events.md), named the same, except:
 * `event` stands in place of `action`, `payload` is bytes (encoded only by `formatEvent`), `username` and
 * `from_username` may be `undefined`, and `ts`/`connected_at` default to the time of `handle()`.
 */

/** An MQTT quality of service level: 0 at most once, 1 at least once, 2 exactly once. */
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

/** The config name of an event, as `events[].event` takes it (`'on_message_publish'`...). */
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

/** The options of one subscription, in an event and in its body. */
export interface SubscriptionOptions {
  /** The maximum QoS: as asked for in `client_subscribe`, as granted in `session_subscribed`. */
  qos: QoS
}

/** The client an event is about. */
export interface ClientFields {
  /** The MQTT client identifier. */
  clientid: string
  /** The username of its CONNECT; `undefined` (the string `"undefined"` in the body) when it gave none. */
  username?: string | undefined
}

/** What a CONNECT said about the connection. */
export interface ConnectionFields {
  /** The client's address, as the socket saw it; `null` in the body when unknown. */
  ipaddress?: string | undefined
  /** The keep-alive of the CONNECT, in seconds. */
  keepalive: number
  /** The MQTT protocol level: 3 (3.1), 4 (3.1.1) or 5. */
  proto_ver: number
}

/** A CONNECT arrived, before authentication. */
export interface ClientConnectEvent extends ClientFields, ConnectionFields {
  /** Names the event. */
  event: 'on_client_connect'
}

/** The broker answered a CONNECT (NanoMQ's own event). */
export interface ClientConnackEvent extends ClientFields {
  /** Names the event. */
  event: 'on_client_connack'
  /** The MQTT protocol level of the CONNECT: 3, 4 or 5. */
  proto_ver: number
  /** The keep-alive of the CONNECT, in seconds. */
  keepalive: number
  /** Whether the CONNACK accepted the client. */
  conn_ack: 'success' | 'fail'
}

/** A client is connected: after a successful CONNACK. */
export interface ClientConnectedEvent extends ClientFields, ConnectionFields {
  /** Names the event. */
  event: 'on_client_connected'
  /** Milliseconds since the epoch; defaults to the time of `handle()`. */
  connected_at?: number | undefined
}

/** A client's connection ended (NanoMQ's own event). */
export interface ClientDisconnectedEvent extends ClientFields {
  /** Names the event. */
  event: 'on_client_disconnected'
  /** `'normal'` when the client sent DISCONNECT, `'abnormal'` otherwise. */
  reason: 'normal' | 'abnormal'
}

/** One filter of a SUBSCRIBE, before authorization. */
export interface ClientSubscribeEvent extends ClientFields {
  /** Names the event. */
  event: 'on_client_subscribe'
  /** The topic filter asked for. */
  topic: string
  /** The subscription options asked for. */
  opts: SubscriptionOptions
}

/** One filter of an UNSUBSCRIBE. */
export interface ClientUnsubscribeEvent extends ClientFields {
  /** Names the event. */
  event: 'on_client_unsubscribe'
  /** The topic filter to remove. */
  topic: string
  /** Always `{}` in the body, as EMQX sends it. */
  opts?: Record<string, never> | undefined
}

/** A subscription was granted. */
export interface SessionSubscribedEvent extends ClientFields {
  /** Names the event. */
  event: 'on_session_subscribed'
  /** The topic filter granted. */
  topic: string
  /** The subscription as granted. */
  opts: SubscriptionOptions
}

/** A subscription was removed. */
export interface SessionUnsubscribedEvent extends ClientFields {
  /** Names the event. */
  event: 'on_session_unsubscribed'
  /** The topic filter removed. */
  topic: string
}

/** A session was discarded: clean session (or MQTT 5 expiry 0) at disconnect, or taken over. */
export interface SessionTerminatedEvent extends ClientFields {
  /** Names the event. */
  event: 'on_session_terminated'
  /** Why, in EMQX's words: `normal`, `takenover`, `discarded`... */
  reason: string
}

/** What a message event says about the message. */
export interface MessageFields {
  /** The topic it was published on. */
  topic: string
  /** Its QoS: as published for `on_message_publish`, as sent to the subscriber otherwise. */
  qos: QoS
  /** The RETAIN flag. */
  retain: boolean
  /** The bytes of the message; encoded in the body as `body.encoding` says. */
  payload: Uint8Array
  /** The publisher's client identifier; `null` for a message the broker published itself. */
  from_client_id: string | null
  /** The publisher's username; `undefined` (`"undefined"` in the body) when it has none. */
  from_username?: string | undefined
  /** Milliseconds since the epoch; defaults to the time of `handle()`. */
  ts?: number | undefined
}

/** A client published a message (NanoMQ's own event). A will counts as published by its client. */
export interface MessagePublishEvent extends MessageFields {
  /** Names the event. */
  event: 'on_message_publish'
}

/** The broker sent a PUBLISH to a subscriber; `clientid`/`username` are the subscriber's. */
export interface MessageDeliveredEvent extends MessageFields, ClientFields {
  /** Names the event. */
  event: 'on_message_delivered'
}

/** A subscriber acknowledged a message: PUBACK (QoS 1) or PUBCOMP (QoS 2); `clientid` is the subscriber's. */
export interface MessageAckedEvent extends MessageFields, ClientFields {
  /** Names the event. */
  event: 'on_message_acked'
}

/** Any of the twelve events, discriminated on `event`: what `webhook.handle()` takes. */
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

/** The event of the given name, e.g. `HookEventOf<'on_message_publish'>`. */
export type HookEventOf<N extends HookEventName> = Extract<HookEvent, Record<'event', N>>

/** The `action` key that names an event in its body: the config name without `on_`. */
export interface BodyAction<A extends string> {
  /** The event, as the body names it (`'message_publish'` for `on_message_publish`). */
  action: A
}

/** The client a body is about. */
export interface ClientBodyFields {
  /** The MQTT client identifier. */
  clientid: string
  /** The username of its CONNECT, or the string `"undefined"` when it gave none (as NanoMQ sends it). */
  username: string
}

/** What a CONNECT said, in a body. */
export interface ConnectionBodyFields {
  /** The client's address as the socket saw it, or `null` when unknown. */
  ipaddress: string | null
  /** The keep-alive of the CONNECT, in seconds. */
  keepalive: number
  /** The MQTT protocol level: 3, 4 or 5. */
  proto_ver: number
}

/** What a message event's body says about the message. */
export interface MessageBodyFields {
  /** The topic it was published on. */
  topic: string
  /** Its QoS. */
  qos: QoS
  /** The RETAIN flag. */
  retain: boolean
  /** The publisher's client identifier, or `null` for a message the broker published itself. */
  from_client_id: string | null
  /** The publisher's username, or `"undefined"`. */
  from_username: string
  /** Encoded as `body.encoding` says: plain text, base64 or base62. */
  payload: string
  /** Milliseconds since the epoch. */
  ts: number
}

/** The body of `on_client_connect` (EMQX 4's fields, without `node`). */
export interface ClientConnectBody
  extends BodyAction<'client_connect'>,
    ClientBodyFields,
    ConnectionBodyFields {}

/** The body of `on_client_connack`, with NanoMQ's keys (in NanoMQ's order on the wire). */
export interface ClientConnackBody extends BodyAction<'client_connack'>, ClientBodyFields {
  /** The MQTT protocol level: 3, 4 or 5. */
  proto_ver: number
  /** The keep-alive of the CONNECT, in seconds. */
  keepalive: number
  /** Whether the CONNACK accepted the client. */
  conn_ack: 'success' | 'fail'
}

/** The body of `on_client_connected`. */
export interface ClientConnectedBody
  extends BodyAction<'client_connected'>,
    ClientBodyFields,
    ConnectionBodyFields {
  /** Milliseconds since the epoch. */
  connected_at: number
}

/** The body of `on_client_disconnected`, with NanoMQ's keys. */
export interface ClientDisconnectedBody extends BodyAction<'client_disconnected'>, ClientBodyFields {
  /** `'normal'` when the client sent DISCONNECT, `'abnormal'` otherwise. */
  reason: 'normal' | 'abnormal'
}

/** The body of `on_client_subscribe`: one per filter of a SUBSCRIBE. */
export interface ClientSubscribeBody extends BodyAction<'client_subscribe'>, ClientBodyFields {
  /** The topic filter asked for. */
  topic: string
  /** The subscription options asked for. */
  opts: SubscriptionOptions
}

/** The body of `on_client_unsubscribe`: one per filter of an UNSUBSCRIBE. */
export interface ClientUnsubscribeBody extends BodyAction<'client_unsubscribe'>, ClientBodyFields {
  /** The topic filter to remove. */
  topic: string
  /** Always `{}`, as EMQX sends it. */
  opts: Record<string, never>
}

/** The body of `on_session_subscribed`. */
export interface SessionSubscribedBody extends BodyAction<'session_subscribed'>, ClientBodyFields {
  /** The topic filter granted. */
  topic: string
  /** The subscription as granted. */
  opts: SubscriptionOptions
}

/** The body of `on_session_unsubscribed`. */
export interface SessionUnsubscribedBody extends BodyAction<'session_unsubscribed'>, ClientBodyFields {
  /** The topic filter removed. */
  topic: string
}

/** The body of `on_session_terminated`. */
export interface SessionTerminatedBody extends BodyAction<'session_terminated'>, ClientBodyFields {
  /** Why the session was discarded. */
  reason: string
}

/** The body of `on_message_publish`, with NanoMQ's keys. */
export interface MessagePublishBody extends BodyAction<'message_publish'>, MessageBodyFields {}

/**
 * The body of `on_message_delivered` and `on_message_acked`; `clientid` and `username` are the
 * subscriber's.
 */
export interface MessageDeliveryBody<A extends 'message_delivered' | 'message_acked'>
  extends BodyAction<A>,
    ClientBodyFields,
    MessageBodyFields {}

/** Each event's JSON body, by the event's config name. */
export interface HookEventBodies {
  /** See {@link ClientConnectBody}. */
  on_client_connect: ClientConnectBody
  /** See {@link ClientConnackBody}. */
  on_client_connack: ClientConnackBody
  /** See {@link ClientConnectedBody}. */
  on_client_connected: ClientConnectedBody
  /** See {@link ClientDisconnectedBody}. */
  on_client_disconnected: ClientDisconnectedBody
  /** See {@link ClientSubscribeBody}. */
  on_client_subscribe: ClientSubscribeBody
  /** See {@link ClientUnsubscribeBody}. */
  on_client_unsubscribe: ClientUnsubscribeBody
  /** See {@link SessionSubscribedBody}. */
  on_session_subscribed: SessionSubscribedBody
  /** See {@link SessionUnsubscribedBody}. */
  on_session_unsubscribed: SessionUnsubscribedBody
  /** See {@link SessionTerminatedBody}. */
  on_session_terminated: SessionTerminatedBody
  /** See {@link MessagePublishBody}. */
  on_message_publish: MessagePublishBody
  /** See {@link MessageDeliveryBody}. */
  on_message_delivered: MessageDeliveryBody<'message_delivered'>
  /** See {@link MessageDeliveryBody}. */
  on_message_acked: MessageDeliveryBody<'message_acked'>
}

/** The JSON body of the event named `N` (of any event when `N` is the union), as `formatEvent` returns it. */
export type HookEventBody<N extends HookEventName = HookEventName> = HookEventBodies[N]
