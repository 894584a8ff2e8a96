import type { PayloadEncoding } from './config-types.ts'
import { Deferred, encodeBase62Async } from './encoding/base62-async.ts'
import { asBuffer, encodePayload, isSlowToEncode } from './encoding/payload.ts'
import {
  type HookEvent,
  type HookEventBody,
  type HookEventName,
  MESSAGE_EVENT_NAMES,
  type MessageDeliveryBody,
} from './events.ts'

/** The second argument of `formatEvent`. */
export interface FormatOptions {
  /**
   * Encoding of the `payload` field of message events.
   * @default 'plain'
   */
  encoding?: PayloadEncoding | undefined
}

type Body = Record<string, unknown>
type BodyBuilder<N extends HookEventName> = (
  event: Extract<HookEvent, { event: N }>,
  payload: string,
) => HookEventBody<N>

/** NanoMQ sends the string "undefined" for a client without a username; EMQX-style events do the same. */
const NO_USERNAME = 'undefined'

/**
 * One builder per event, each writing its keys in the body's order (docs/events.md): NanoMQ's own order for the
 * three events it fires, EMQX 4's field order (without `node`) for the nine others. `payload` arrives
 * already encoded, so that a slow encoding can happen elsewhere.
 */
const builders: { [N in HookEventName]: BodyBuilder<N> } = {
  on_client_connect: (event) => ({
    action: 'client_connect',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    ipaddress: event.ipaddress ?? null,
    keepalive: event.keepalive,
    proto_ver: event.proto_ver,
  }),
  on_client_connack: (event) => ({
    proto_ver: event.proto_ver,
    keepalive: event.keepalive,
    conn_ack: event.conn_ack,
    username: event.username ?? NO_USERNAME,
    clientid: event.clientid,
    action: 'client_connack',
  }),
  on_client_connected: (event) => ({
    action: 'client_connected',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    ipaddress: event.ipaddress ?? null,
    keepalive: event.keepalive,
    proto_ver: event.proto_ver,
    connected_at: event.connected_at ?? Date.now(),
  }),
  on_client_disconnected: (event) => ({
    reason: event.reason,
    username: event.username ?? NO_USERNAME,
    clientid: event.clientid,
    action: 'client_disconnected',
  }),
  on_client_subscribe: (event) => ({
    action: 'client_subscribe',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    topic: event.topic,
    opts: { qos: event.opts?.qos },
  }),
  on_client_unsubscribe: (event) => ({
    action: 'client_unsubscribe',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    topic: event.topic,
    opts: {},
  }),
  on_session_subscribed: (event) => ({
    action: 'session_subscribed',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    topic: event.topic,
    opts: { qos: event.opts?.qos },
  }),
  on_session_unsubscribed: (event) => ({
    action: 'session_unsubscribed',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    topic: event.topic,
  }),
  on_session_terminated: (event) => ({
    action: 'session_terminated',
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    reason: event.reason,
  }),
  on_message_publish: (event, payload) => ({
    ts: event.ts ?? Date.now(),
    topic: event.topic,
    retain: event.retain,
    qos: event.qos,
    action: 'message_publish',
    from_username: event.from_username ?? NO_USERNAME,
    from_client_id: event.from_client_id ?? null,
    payload,
  }),
  on_message_delivered: (event, payload) => messageBody('message_delivered', event, payload),
  on_message_acked: (event, payload) => messageBody('message_acked', event, payload),
}

function messageBody<A extends 'message_delivered' | 'message_acked'>(
  action: A,
  event: Extract<HookEvent, { event: 'on_message_delivered' | 'on_message_acked' }>,
  payload: string,
): MessageDeliveryBody<A> {
  return {
    action,
    clientid: event.clientid,
    username: event.username ?? NO_USERNAME,
    from_client_id: event.from_client_id ?? null,
    from_username: event.from_username ?? NO_USERNAME,
    topic: event.topic,
    qos: event.qos,
    retain: event.retain,
    payload,
    ts: event.ts ?? Date.now(),
  }
}

/**
 * The exact JSON body that `event` is posted as, an object whose key order is the body's (see
 * docs/events.md): `JSON.stringify` of it is what the endpoint receives. Pure: for unit-testing payloads.
 * `ts` and `connected_at`, when the event has none, are the time of the call.
 * @throws TypeError when `event.event` is not one of the twelve event names.
 */
export function formatEvent<E extends HookEvent>(
  event: E,
  options: FormatOptions = {},
): HookEventBody<E['event']> {
  const encoding = options.encoding ?? 'plain'
  const payload = hasPayload(event) ? encodePayload(asBuffer(event.payload), encoding) : ''
  return buildBody(event, payload) as unknown as HookEventBody<E['event']>
}

/**
 * The compact JSON body for `event`, exactly `JSON.stringify(formatEvent(event, { encoding }))`.
 * Returns a string when that is cheap, and a promise when the payload is large enough that encoding it
 * on this thread would stall the event loop (base62 of a big payload runs on a worker thread, started
 * only when the promise is first awaited: see {@link Deferred}).
 */
export function serializeEvent(event: HookEvent, encoding: PayloadEncoding): string | Promise<string> {
  if (!hasPayload(event)) return JSON.stringify(buildBody(event, ''))
  const payload = asBuffer(event.payload)
  if (!isSlowToEncode(payload, encoding)) {
    const text = encodePayload(payload, encoding)
    return messageText(event, text) ?? JSON.stringify(buildBody(event, text))
  }
  // Built now, so that a defaulted `ts` is the time of the event, not of the encoding's end.
  const body = buildBody(event, '')
  return new Deferred(() =>
    encodeBase62Async(payload).then((text) => {
      body.payload = text
      return JSON.stringify(body)
    }),
  )
}

const quote = JSON.stringify

/**
 * The body of a message event written directly as text: these are the events a broker sends by the
 * thousand, and this takes half the time of building the object and stringifying it. Only for fields of
 * the types the contract gives; anything else (a JavaScript caller's odd values) takes the general path.
 * `test/format-fast-path.test.ts` holds the two equal.
 */
function messageText(
  event: Extract<HookEvent, { payload: Uint8Array }>,
  payload: string,
): string | undefined {
  const { topic, qos, retain } = event
  const ts = event.ts ?? Date.now()
  const fromUsername = event.from_username ?? NO_USERNAME
  const fromClientId = event.from_client_id ?? null
  if (
    typeof ts !== 'number' ||
    !Number.isFinite(ts) ||
    typeof topic !== 'string' ||
    typeof qos !== 'number' ||
    !Number.isFinite(qos) ||
    typeof retain !== 'boolean' ||
    typeof fromUsername !== 'string' ||
    (fromClientId !== null && typeof fromClientId !== 'string')
  )
    return undefined
  const from = fromClientId === null ? 'null' : quote(fromClientId)
  if (event.event === 'on_message_publish')
    return `{"ts":${ts},"topic":${quote(topic)},"retain":${retain},"qos":${qos},"action":"message_publish","from_username":${quote(fromUsername)},"from_client_id":${from},"payload":${quote(payload)}}`
  const username = event.username ?? NO_USERNAME
  if (typeof event.clientid !== 'string' || typeof username !== 'string') return undefined
  const action = event.event === 'on_message_delivered' ? 'message_delivered' : 'message_acked'
  return `{"action":"${action}","clientid":${quote(event.clientid)},"username":${quote(username)},"from_client_id":${from},"from_username":${quote(fromUsername)},"topic":${quote(topic)},"qos":${qos},"retain":${retain},"payload":${quote(payload)},"ts":${ts}}`
}

function buildBody(event: HookEvent, payload: string): Body {
  // Own keys only: `toString` or `constructor` from a JavaScript caller is an unknown event, not a method.
  if (!Object.hasOwn(builders, event.event))
    throw new TypeError(`unknown event ${JSON.stringify(event.event)}`)
  const build = builders[event.event] as (event: HookEvent, payload: string) => HookEventBody
  return build(event, payload) as unknown as Body
}

function hasPayload(event: HookEvent): event is Extract<HookEvent, { payload: Uint8Array }> {
  return MESSAGE_EVENT_NAMES.has(event.event)
}
