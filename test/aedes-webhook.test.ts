import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { HOOK_EVENT_NAMES } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import { startAttachedAedes } from './helpers/aedes.ts'
import { collectMessages, connectClient } from './helpers/mqtt.ts'
import { startReceiver } from './helpers/receiver.ts'

function assertNearNow(value: unknown, name: string): void {
  assert.equal(typeof value, 'number', `${name} is a number`)
  assert.ok(Math.abs(Date.now() - (value as number)) < 60_000, `${name} ${value} is a time near now`)
}

/** A free loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('every event reaches a real endpoint with its exact body', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = createWebhook({
    url: receiver.url,
    events: HOOK_EVENT_NAMES.map((event) => ({ event })),
  })
  t.after(() => webhook.close({ timeout_ms: 1000 }))
  const { url } = await startAttachedAedes(t, webhook)

  const subscriber = await connectClient(t, url, {
    clientId: 'sub',
    username: 'us',
    password: 'p',
    keepalive: 30,
  })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 'e/#': { qos: 1 } })
  const publisher = await connectClient(t, url, { clientId: 'pub', username: 'up', keepalive: 20 })
  await publisher.publishAsync('e/1', 'hello', { qos: 1 })
  await received.waitFor(1)
  await subscriber.unsubscribeAsync('e/#')
  await subscriber.endAsync()
  publisher.end(true)
  await receiver.waitForAccepted(17)
  await webhook.flush()
  assert.equal(receiver.accepted.length, 17)

  const bodies = receiver.acceptedBodies() as Array<Record<string, unknown>>
  for (const body of bodies) {
    if ('ts' in body) assertNearNow(body.ts, `${body.action} ts`)
    if ('connected_at' in body) assertNearNow(body.connected_at, `${body.action} connected_at`)
  }
  const stable = bodies.map(({ ts: _ts, connected_at: _at, ...rest }) => rest)
  const message = {
    from_client_id: 'pub',
    from_username: 'up',
    topic: 'e/1',
    qos: 1,
    retain: false,
    payload: 'hello',
  }
  const expected = [
    {
      action: 'client_connect',
      clientid: 'sub',
      username: 'us',
      ipaddress: '127.0.0.1',
      keepalive: 30,
      proto_ver: 4,
    },
    {
      proto_ver: 4,
      keepalive: 30,
      conn_ack: 'success',
      username: 'us',
      clientid: 'sub',
      action: 'client_connack',
    },
    {
      action: 'client_connected',
      clientid: 'sub',
      username: 'us',
      ipaddress: '127.0.0.1',
      keepalive: 30,
      proto_ver: 4,
    },
    { action: 'client_subscribe', clientid: 'sub', username: 'us', topic: 'e/#', opts: { qos: 1 } },
    { action: 'session_subscribed', clientid: 'sub', username: 'us', topic: 'e/#', opts: { qos: 1 } },
    {
      action: 'client_connect',
      clientid: 'pub',
      username: 'up',
      ipaddress: '127.0.0.1',
      keepalive: 20,
      proto_ver: 4,
    },
    {
      proto_ver: 4,
      keepalive: 20,
      conn_ack: 'success',
      username: 'up',
      clientid: 'pub',
      action: 'client_connack',
    },
    {
      action: 'client_connected',
      clientid: 'pub',
      username: 'up',
      ipaddress: '127.0.0.1',
      keepalive: 20,
      proto_ver: 4,
    },
    { action: 'message_publish', ...message },
    { action: 'message_delivered', clientid: 'sub', username: 'us', ...message },
    { action: 'message_acked', clientid: 'sub', username: 'us', ...message },
    { action: 'client_unsubscribe', clientid: 'sub', username: 'us', topic: 'e/#', opts: {} },
    { action: 'session_unsubscribed', clientid: 'sub', username: 'us', topic: 'e/#' },
    { reason: 'normal', username: 'us', clientid: 'sub', action: 'client_disconnected' },
    { action: 'session_terminated', clientid: 'sub', username: 'us', reason: 'normal' },
    { reason: 'abnormal', username: 'up', clientid: 'pub', action: 'client_disconnected' },
    { action: 'session_terminated', clientid: 'pub', username: 'up', reason: 'abnormal' },
  ]
  // Requests run concurrently: compare as sets.
  const key = (body: object) => JSON.stringify(Object.entries(body).sort(([a], [b]) => a.localeCompare(b)))
  assert.deepEqual(stable.map(key).sort(), expected.map(key).sort())

  // NanoMQ's own three events keep its exact key order.
  const raw = receiver.accepted.map((request) => request.body)
  assert.ok(
    raw.includes(
      '{"proto_ver":4,"keepalive":30,"conn_ack":"success","username":"us","clientid":"sub","action":"client_connack"}',
    ),
  )
  assert.ok(
    raw.includes('{"reason":"normal","username":"us","clientid":"sub","action":"client_disconnected"}'),
  )
  const publish = raw.find((body) => body.includes('"action":"message_publish"'))
  assert.match(
    publish ?? '',
    /^\{"ts":\d+,"topic":"e\/1","retain":false,"qos":1,"action":"message_publish","from_username":"up","from_client_id":"pub","payload":"hello"\}$/,
  )
  assert.equal(webhook.stats().dropped, 0)
})

test('a dead endpoint never breaks a session; every lost event is counted as failed', async (t) => {
  const webhook = createWebhook({
    url: `http://127.0.0.1:${await deadPort()}/hook`,
    events: [
      { event: 'on_message_publish' },
      { event: 'on_message_delivered' },
      { event: 'on_client_connected' },
    ],
    retry: { max_attempts: 1 },
  })
  t.after(() => webhook.close({ timeout_ms: 1000 }))
  const failed: string[] = []
  webhook.on('failed', (report) => failed.push(report.event.event))
  const { url } = await startAttachedAedes(t, webhook)
  const client = await connectClient(t, url, { clientId: 'dead' })
  const received = collectMessages(client)
  await client.subscribeAsync({ d: { qos: 1 } })
  await client.publishAsync('d', '1', { qos: 1 })
  await client.publishAsync('d', '2', { qos: 2 })
  await received.waitFor(2)
  await client.endAsync()
  await webhook.flush()

  assert.deepEqual(
    received.messages.map((m) => m.payload),
    ['1', '2'],
  )
  assert.deepEqual(failed.sort(), [
    'on_client_connected',
    'on_message_delivered',
    'on_message_delivered',
    'on_message_publish',
    'on_message_publish',
  ])
  assert.equal(webhook.stats().failed, 5)
})
