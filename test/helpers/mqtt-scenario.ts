import assert from 'node:assert/strict'
import mqtt, { type MqttClient } from 'mqtt'
import type { HookEvent } from '../../src/events.ts'

/** What one run of the scenario expects, with `ts` and `connected_at` taken out (they are checked apart). */
export type PlainEvent = Record<string, unknown>

export interface ScenarioOptions {
  /** `mqtt://host:port` of the server under test (the proxy, aedes behind wrapStream, the custom server). */
  url: string
  protocolVersion: 4 | 5
  /** Address the server sees for the clients. */
  ipaddress: string | undefined
  /** Names the clients apart between runs on the same server. */
  suffix: string
  /**
   * Whether deliveries name their publisher (the proxy remembers who published what); otherwise
   * `from_client_id` is `null` on delivered and acked.
   * @default false
   */
  namesPublisher?: boolean
}

/**
 * Drives every event of SPEC §4 through a server with real mqtt.js clients: a subscriber with two filters, a
 * publisher sending QoS 0, 1 and 2 and then dying (its will goes out), an unsubscribe, a clean disconnect.
 * Returns the events it expects, in a stable order.
 */
export async function runScenario(options: ScenarioOptions): Promise<PlainEvent[]> {
  const { url, protocolVersion: v, suffix } = options
  const sub = `sub-${suffix}`
  const pub = `pub-${suffix}`
  const clients: MqttClient[] = []
  try {
    const subscriber = await mqtt.connectAsync(url, {
      clientId: sub,
      username: 'u-sub',
      keepalive: 30,
      protocolVersion: v,
      reconnectPeriod: 0,
    })
    clients.push(subscriber)
    const received: string[] = []
    const arrivals: Array<() => void> = []
    subscriber.on('message', (topic) => {
      received.push(topic)
      for (const wake of arrivals.splice(0)) wake()
    })
    const receivedAll = (topics: string[]) =>
      new Promise<void>((resolve) => {
        const check = () => (topics.every((t) => received.includes(t)) ? resolve() : arrivals.push(check))
        check()
      })
    await subscriber.subscribeAsync({ 'a/+': { qos: 2 }, 'b/#': { qos: 1 } })

    const publisher = await mqtt.connectAsync(url, {
      clientId: pub,
      keepalive: 20,
      protocolVersion: v,
      reconnectPeriod: 0,
      will: { topic: 'b/will', payload: Buffer.from('gone'), qos: 1, retain: false },
    })
    clients.push(publisher)
    await publisher.publishAsync('a/0', 'm0', { qos: 0 })
    await publisher.publishAsync('a/1', 'm1', { qos: 1 })
    await publisher.publishAsync('a/2', 'm2', { qos: 2 })
    await receivedAll(['a/0', 'a/1', 'a/2'])
    // Dies without DISCONNECT: abnormal, and the broker sends its will.
    publisher.stream.destroy()
    await receivedAll(['b/will'])
    await subscriber.unsubscribeAsync('a/+')
    await subscriber.endAsync()
  } finally {
    for (const client of clients) client.end(true)
  }

  const ip = options.ipaddress
  const subId = { clientid: sub, username: 'u-sub' }
  const pubId = { clientid: pub, username: undefined }
  const message = (topic: string, qos: number, payload: string) => ({
    topic,
    qos,
    retain: false,
    payload,
    from_client_id: options.namesPublisher ? pub : null,
    from_username: undefined,
  })
  const expected: PlainEvent[] = [
    { event: 'on_client_connect', ...subId, ipaddress: ip, keepalive: 30, proto_ver: v },
    { event: 'on_client_connack', proto_ver: v, keepalive: 30, conn_ack: 'success', ...subId },
    { event: 'on_client_connected', ...subId, ipaddress: ip, keepalive: 30, proto_ver: v },
    { event: 'on_client_subscribe', ...subId, topic: 'a/+', opts: { qos: 2 } },
    { event: 'on_client_subscribe', ...subId, topic: 'b/#', opts: { qos: 1 } },
    { event: 'on_session_subscribed', ...subId, topic: 'a/+', opts: { qos: 2 } },
    { event: 'on_session_subscribed', ...subId, topic: 'b/#', opts: { qos: 1 } },
    { event: 'on_client_connect', ...pubId, ipaddress: ip, keepalive: 20, proto_ver: v },
    { event: 'on_client_connack', proto_ver: v, keepalive: 20, conn_ack: 'success', ...pubId },
    { event: 'on_client_connected', ...pubId, ipaddress: ip, keepalive: 20, proto_ver: v },
    {
      event: 'on_message_publish',
      topic: 'a/0',
      retain: false,
      qos: 0,
      from_username: undefined,
      from_client_id: pub,
      payload: 'm0',
    },
    {
      event: 'on_message_publish',
      topic: 'a/1',
      retain: false,
      qos: 1,
      from_username: undefined,
      from_client_id: pub,
      payload: 'm1',
    },
    {
      event: 'on_message_publish',
      topic: 'a/2',
      retain: false,
      qos: 2,
      from_username: undefined,
      from_client_id: pub,
      payload: 'm2',
    },
    { event: 'on_message_delivered', ...subId, ...message('a/0', 0, 'm0') },
    { event: 'on_message_delivered', ...subId, ...message('a/1', 1, 'm1') },
    { event: 'on_message_acked', ...subId, ...message('a/1', 1, 'm1') },
    { event: 'on_message_delivered', ...subId, ...message('a/2', 2, 'm2') },
    { event: 'on_message_acked', ...subId, ...message('a/2', 2, 'm2') },
    { event: 'on_client_disconnected', reason: 'abnormal', ...pubId },
    { event: 'on_session_terminated', ...pubId, reason: 'abnormal' },
    { event: 'on_message_delivered', ...subId, ...message('b/will', 1, 'gone') },
    { event: 'on_message_acked', ...subId, ...message('b/will', 1, 'gone') },
    { event: 'on_client_unsubscribe', ...subId, topic: 'a/+', opts: {} },
    { event: 'on_session_unsubscribed', ...subId, topic: 'a/+' },
    { event: 'on_client_disconnected', reason: 'normal', ...subId },
    { event: 'on_session_terminated', ...subId, reason: 'normal' },
  ]
  return expected
}

/**
 * The recorded events in a stable order (sorted as text: the two clients' events interleave differently on
 * each run), with payloads as text and times checked to be numbers, then taken out.
 */
export function plain(events: readonly HookEvent[]): PlainEvent[] {
  return sortEvents(
    events.map((event) => {
      const copy: PlainEvent = { ...event }
      for (const time of ['ts', 'connected_at'] as const) {
        if (!(time in copy)) continue
        assert.equal(typeof copy[time], 'number', `${event.event}.${time} is a number`)
        delete copy[time]
      }
      if ('payload' in event) copy.payload = Buffer.from(event.payload).toString('utf8')
      return copy
    }),
  )
}

export function sortEvents(events: PlainEvent[]): PlainEvent[] {
  // Keys sorted too: bodies keep the formatter's key order, expectations are written in another.
  const key = (event: PlainEvent) =>
    JSON.stringify(Object.fromEntries(Object.entries(event).sort(([a], [b]) => (a < b ? -1 : 1))), (_k, v) =>
      v === undefined ? '<undefined>' : v,
    )
  return [...events].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** Whether the scenario's last events arrived (the subscriber's session ended). */
export function scenarioDone(suffix: string) {
  return (events: readonly HookEvent[]) =>
    events.some((e) => e.event === 'on_session_terminated' && e.clientid === `sub-${suffix}`) &&
    events.some((e) => e.event === 'on_session_terminated' && e.clientid === `pub-${suffix}`)
}

/** The JSON body an expected event becomes (SPEC §4), times left out: what a receiver must get. */
export function expectedBody(event: PlainEvent): PlainEvent {
  const { event: name, ...fields } = event
  const body: PlainEvent = { ...fields, action: String(name).slice('on_'.length) }
  for (const key of ['username', 'from_username'] as const)
    if (key in body && body[key] === undefined) body[key] = 'undefined'
  if ('ipaddress' in body && body.ipaddress === undefined) body.ipaddress = null
  return body
}

/** Received bodies parsed, times checked to be numbers and taken out, in a stable order. */
export function receivedBodies(bodies: readonly unknown[]): PlainEvent[] {
  return sortEvents(
    bodies.map((raw) => {
      const body = { ...(raw as PlainEvent) }
      for (const time of ['ts', 'connected_at'] as const) {
        if (!(time in body)) continue
        assert.equal(typeof body[time], 'number', `${String(body.action)}.${time} is a number`)
        delete body[time]
      }
      return body
    }),
  )
}
