import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import type { AedesPublishPacket, Client } from 'aedes'
import { attachAedes } from '../src/adapters/aedes/index.ts'
import { eventsNamed, startAedes, startAttachedAedes } from './helpers/aedes.ts'
import { collectMessages, connectClient } from './helpers/mqtt.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const hookNames = [
  'preConnect',
  'authenticate',
  'authorizePublish',
  'authorizeSubscribe',
  'authorizeForward',
  'published',
] as const
const eventNames = [
  'connackSent',
  'clientReady',
  'clientDisconnect',
  'subscribe',
  'unsubscribe',
  'publish',
] as const

test('detach() puts back the very hooks and listeners that were there, and no event fires after it', async (t) => {
  const running = await startAedes({
    preConnect: (_client, _packet, done) => done(null, true),
    authorizeForward: (_client, packet) => packet,
  })
  t.after(() => running.close())
  const { broker } = running
  const hooksBefore = hookNames.map((name) => broker[name])
  const listenersBefore = eventNames.map((name) => broker.listenerCount(name))
  const webhook = recordingWebhook()

  const detach = attachAedes(broker, webhook)
  assert.notEqual(broker.preConnect, hooksBefore[0])
  detach()
  assert.deepEqual(
    hookNames.map((name) => broker[name]),
    hooksBefore,
  )
  assert.deepEqual(
    eventNames.map((name) => broker.listenerCount(name)),
    listenersBefore,
  )

  const client = await connectClient(t, running.url, { clientId: 'after' })
  await client.subscribeAsync('x')
  await client.publishAsync('x', 'y', { qos: 1 })
  assert.deepEqual(webhook.events, [])
})

test('two webhooks on one broker both get every event; detached in reverse order the hooks are restored', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const { broker } = running
  const hooksBefore = hookNames.map((name) => broker[name])
  const first = recordingWebhook()
  const second = recordingWebhook()
  const detachFirst = attachAedes(broker, first)
  const detachSecond = attachAedes(broker, second)

  const subscriber = await connectClient(t, running.url, { clientId: 'two-sub', username: 'u' })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 'two/#': { qos: 1 } })
  await subscriber.publishAsync('two/1', 'hello', { qos: 1 })
  await received.waitFor(1)
  await first.waitFor((events) => eventsNamed(events, 'on_message_acked').length === 1)
  await second.waitFor((events) => eventsNamed(events, 'on_message_acked').length === 1)
  // Each adapter reads the clock itself: times may differ by the moments between the two listeners.
  const timeless = (events: typeof first.events) =>
    events.map((event) => {
      const copy: Record<string, unknown> = { ...event }
      for (const time of ['ts', 'connected_at'] as const) {
        if (time in copy) assert.equal(typeof copy[time], 'number')
        delete copy[time]
      }
      return copy
    })
  assert.deepEqual(timeless(second.events), timeless(first.events))
  assert.deepEqual(
    first.events.map((event) => event.event),
    [
      'on_client_connect',
      'on_client_connack',
      'on_client_connected',
      'on_client_subscribe',
      'on_session_subscribed',
      'on_message_publish',
      'on_message_delivered',
      'on_message_acked',
    ],
  )

  detachSecond()
  detachFirst()
  assert.deepEqual(
    hookNames.map((name) => broker[name]),
    hooksBefore,
  )
})

test('detached out of order, a webhook stops firing while the other goes on', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const first = recordingWebhook()
  const second = recordingWebhook()
  const detachFirst = attachAedes(running.broker, first)
  const detachSecond = attachAedes(running.broker, second)
  t.after(detachSecond)
  detachFirst()
  await connectClient(t, running.url, { clientId: 'later' })
  await second.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 1)
  assert.deepEqual(first.events, [])
})

test("the user's hooks keep their decisions: a refused CONNECT, a forward withheld, a forward rewritten", async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook, {
    // aedes closes the connection only when preConnect refuses with an error.
    preConnect: (_client, packet, done) =>
      packet.clientId === 'banned' ? done(new Error('banned'), false) : done(null, true),
    authorizeForward: (_client: Client, packet: AedesPublishPacket) => {
      if (packet.topic === 'f/hidden') return null
      if (packet.topic === 'f/rewritten') return { ...packet, payload: Buffer.from('censored') }
      return packet
    },
  })
  await assert.rejects(connectClient(t, url, { clientId: 'banned', username: 'b' }))
  const subscriber = await connectClient(t, url, { clientId: 'fsub' })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 'f/#': { qos: 0 } })
  await subscriber.publishAsync('f/hidden', 'secret')
  await subscriber.publishAsync('f/rewritten', 'original')
  await subscriber.publishAsync('f/plain', 'plain')
  await received.waitFor(2)

  assert.deepEqual(
    received.messages.map((m) => [m.topic, m.payload]),
    [
      ['f/rewritten', 'censored'],
      ['f/plain', 'plain'],
    ],
  )
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_publish').length === 3)
  assert.deepEqual(
    eventsNamed(webhook.events, 'on_message_delivered').map((e) => [
      e.topic,
      Buffer.from(e.payload).toString(),
    ]),
    [
      ['f/rewritten', 'censored'],
      ['f/plain', 'plain'],
    ],
  )
  const banned = webhook.events.filter((event) => 'clientid' in event && event.clientid === 'banned')
  assert.deepEqual(banned, [
    {
      event: 'on_client_connect',
      clientid: 'banned',
      username: 'b',
      ipaddress: '127.0.0.1',
      keepalive: 60,
      proto_ver: 4,
    },
  ])
})

test('a webhook that throws (and whose reportError throws too) never breaks a client session', async (t) => {
  const webhook = recordingWebhook()
  let thrown = 0
  webhook.handle = () => {
    thrown++
    throw new Error('boom')
  }
  webhook.reportError = () => {
    throw new Error('boom again')
  }
  const { url } = await startAttachedAedes(t, webhook)
  const subscriber = await connectClient(t, url, { clientId: 'tsub' })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 't/#': { qos: 2 } })
  const publisher = await connectClient(t, url, { clientId: 'tpub' })
  await publisher.publishAsync('t/1', 'a', { qos: 1 })
  await publisher.publishAsync('t/2', 'b', { qos: 2 })
  await received.waitFor(2)
  await subscriber.unsubscribeAsync('t/#')
  await publisher.endAsync()
  assert.deepEqual(
    received.messages.map((m) => m.payload),
    ['a', 'b'],
  )
  assert.ok(thrown >= 10, `the webhook was called (${thrown} times)`)
})

test('a webhook that throws has each failure reported', async (t) => {
  const webhook = recordingWebhook()
  webhook.handle = () => {
    throw new Error('boom')
  }
  const { url } = await startAttachedAedes(t, webhook)
  await connectClient(t, url, { clientId: 'rep' })
  await webhook.waitFor(() => webhook.errors.length === 3)
  assert.deepEqual(
    webhook.errors.map((error) => error.message),
    ['boom', 'boom', 'boom'],
  )
})

test('only the events the webhook wants are built', async (t) => {
  const webhook = recordingWebhook(['on_client_connected', 'on_message_acked'])
  const { url } = await startAttachedAedes(t, webhook)
  const client = await connectClient(t, url, { clientId: 'picky' })
  const received = collectMessages(client)
  await client.subscribeAsync({ p: { qos: 1 } })
  await client.publishAsync('p', 'x', { qos: 1 })
  await received.waitFor(1)
  await webhook.waitFor((events) => events.length === 2)
  assert.deepEqual(
    webhook.events.map((event) => event.event),
    ['on_client_connected', 'on_message_acked'],
  )
})

test('a client connected before attachAedes still fires its events (its username is unknown), and a normal disconnect', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const ready = once(running.broker, 'clientReady')
  const client = await connectClient(t, running.url, { clientId: 'early', username: 'lost' })
  await ready
  const webhook = recordingWebhook()
  const detach = attachAedes(running.broker, webhook)
  t.after(detach)
  const received = collectMessages(client)
  await client.subscribeAsync({ e: { qos: 1 } })
  await client.publishAsync('e', 'x', { qos: 1 })
  await received.waitFor(1)
  await client.unsubscribeAsync('e')
  await client.endAsync()
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_disconnected').length === 1)

  const who = { clientid: 'early', username: undefined }
  const message = { from_client_id: 'early', from_username: undefined, topic: 'e', qos: 1, retain: false }
  assert.deepEqual(
    webhook.events.map((event) => {
      if (!('payload' in event)) return event
      assert.equal(typeof event.ts, 'number')
      const { ts: _ts, ...rest } = event
      return { ...rest, payload: Buffer.from(event.payload).toString() }
    }),
    [
      { event: 'on_client_subscribe', ...who, topic: 'e', opts: { qos: 1 } },
      { event: 'on_session_subscribed', ...who, topic: 'e', opts: { qos: 1 } },
      { event: 'on_message_publish', ...message, payload: 'x' },
      { event: 'on_message_delivered', ...who, ...message, payload: 'x' },
      { event: 'on_message_acked', ...who, ...message, payload: 'x' },
      { event: 'on_client_unsubscribe', ...who, topic: 'e', opts: {} },
      { event: 'on_session_unsubscribed', ...who, topic: 'e' },
      { event: 'on_client_disconnected', reason: 'normal', ...who },
      { event: 'on_session_terminated', ...who, reason: 'normal' },
    ],
  )
})
