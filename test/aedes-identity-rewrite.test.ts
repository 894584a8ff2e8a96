/**
 * Issue 12, kind 2: bodies carry the identity aedes authenticated and uses, after the app's own hooks had
 * their say (`preConnect` may rewrite the CONNECT, `authenticate` may set `client.id`); only
 * `on_client_connect`, which fires when the CONNECT arrives, keeps what the client sent. Likewise
 * `on_session_subscribed` carries the filter and QoS the app's `authorizeSubscribe` granted, and only
 * `on_client_subscribe`, which fires before it decides, keeps what the client asked for.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startAttachedAedes } from './helpers/aedes.ts'
import { bodies, openClient, orderedWebhook, settled } from './helpers/identity.ts'

const who = (clientid: string, username: string) => ({ clientid, username })

test('preConnect rewrites the client id and username: every body but client_connect carries the rewritten ones, and a takeover of the rewritten id is discarded', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [
    'on_client_connect',
    'on_client_connack',
    'on_client_connected',
    'on_client_disconnected',
    'on_session_terminated',
  ])
  const { url } = await startAttachedAedes(t, webhook, {
    preConnect(_client, packet, done) {
      packet.clientId = `tenant1/${packet.clientId}`
      packet.username = 'tenant1-user'
      done(null, true)
    },
  })
  const a = await openClient(t, url, { clientId: 'dev1' })
  assert.ok(a)
  const b = await openClient(t, url, { clientId: 'dev1' })
  assert.ok(b)
  await b.client.endAsync()
  await settled(webhook, receiver, 10)
  const sent = { ...who('dev1', 'undefined'), ipaddress: '127.0.0.1', keepalive: 60, proto_ver: 4 }
  const rewritten = who('tenant1/dev1', 'tenant1-user')
  const connected = { ...rewritten, ipaddress: '127.0.0.1', keepalive: 60, proto_ver: 4 }
  const connack = { proto_ver: 4, keepalive: 60, conn_ack: 'success', ...rewritten, action: 'client_connack' }
  assert.deepEqual(bodies(receiver), [
    { ...sent, action: 'client_connect' },
    connack,
    { ...connected, action: 'client_connected' },
    { ...sent, action: 'client_connect' },
    { reason: 'abnormal', ...rewritten, action: 'client_disconnected' },
    { ...rewritten, reason: 'discarded', action: 'session_terminated' },
    connack,
    { ...connected, action: 'client_connected' },
    { reason: 'normal', ...rewritten, action: 'client_disconnected' },
    { ...rewritten, reason: 'normal', action: 'session_terminated' },
  ])
})

test('authenticate sets client.id from the username: two client ids that map to one are a takeover, and messages name the id aedes uses', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [
    'on_client_connack',
    'on_client_disconnected',
    'on_session_terminated',
    'on_message_publish',
    'on_message_delivered',
  ])
  const { url } = await startAttachedAedes(t, webhook, {
    authenticate(client, username, _password, done) {
      client.id = `site/${username}`
      done(null, true)
    },
  })
  const watcher = await openClient(t, url, { clientId: 'w', username: 'watch' })
  assert.ok(watcher)
  await watcher.client.subscribeAsync('t', { qos: 0 })
  const a = await openClient(t, url, { clientId: 'phone', username: 'alice' })
  assert.ok(a)
  const b = await openClient(t, url, { clientId: 'laptop', username: 'alice' })
  assert.ok(b)
  await b.client.publishAsync('t', 'hello', { qos: 0 })
  await settled(webhook, receiver, 7)
  const alice = who('site/alice', 'alice')
  const message = {
    topic: 't',
    retain: false,
    qos: 0,
    from_username: 'alice',
    from_client_id: 'site/alice',
    payload: 'hello',
  }
  const connack = (client: object) => ({
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
    ...client,
    action: 'client_connack',
  })
  assert.deepEqual(bodies(receiver), [
    connack(who('site/watch', 'watch')),
    connack(alice),
    { reason: 'abnormal', ...alice, action: 'client_disconnected' },
    { ...alice, reason: 'discarded', action: 'session_terminated' },
    connack(alice),
    { ...message, action: 'message_publish' },
    { ...message, ...who('site/watch', 'watch'), action: 'message_delivered' },
  ])
})

test('preConnect names anonymous clients: their connack, publish, delivered and acked bodies carry the names it gave', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [
    'on_client_connack',
    'on_message_publish',
    'on_message_delivered',
    'on_message_acked',
  ])
  let anonymous = 0
  const { url } = await startAttachedAedes(t, webhook, {
    preConnect(_client, packet, done) {
      if (!packet.clientId) {
        packet.clientId = `anon-${++anonymous}`
        packet.username = 'guest'
      }
      done(null, true)
    },
  })
  const subscriber = await openClient(t, url, { clientId: '', clean: true })
  assert.ok(subscriber)
  await subscriber.client.subscribeAsync('t', { qos: 1 })
  const publisher = await openClient(t, url, { clientId: '', clean: true })
  assert.ok(publisher)
  await publisher.client.publishAsync('t', 'hi', { qos: 1 })
  await settled(webhook, receiver, 5)
  const message = {
    topic: 't',
    retain: false,
    qos: 1,
    from_username: 'guest',
    from_client_id: 'anon-2',
    payload: 'hi',
  }
  const connack = (clientid: string) => ({
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
    ...who(clientid, 'guest'),
    action: 'client_connack',
  })
  assert.deepEqual(bodies(receiver), [
    connack('anon-1'),
    connack('anon-2'),
    { ...message, action: 'message_publish' },
    { ...message, ...who('anon-1', 'guest'), action: 'message_delivered' },
    { ...message, ...who('anon-1', 'guest'), action: 'message_acked' },
  ])
})

const subscribed = (clientid: string, topic: string, qos: number) => ({
  ...who(clientid, 'u'),
  topic,
  opts: { qos },
  action: 'session_subscribed',
})
const asked = (clientid: string, topic: string, qos: number) => ({
  ...subscribed(clientid, topic, qos),
  action: 'client_subscribe',
})

test('authorizeSubscribe rewrites the filter and QoS (a new object, or the one it was asked about, changed): session_subscribed carries what the broker subscribed, client_subscribe what the client sent', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_client_subscribe', 'on_session_subscribed'])
  const { url } = await startAttachedAedes(t, webhook, {
    authorizeSubscribe(_client, sub, done) {
      if (sub.topic === 'x') return done(null, { ...sub, topic: 'tenant/x', qos: 0 })
      if (sub.topic === 'y') {
        sub.topic = 'tenant/y'
        sub.qos = 1
      }
      done(null, sub)
    },
  })
  const opened = await openClient(t, url, { clientId: 'sub', username: 'u' })
  assert.ok(opened)
  const { client } = opened
  await client.subscribeAsync('x', { qos: 2 })
  await client.subscribeAsync('y', { qos: 2 })
  // The broker holds tenant/x at QoS 0: a QoS 2 message there reaches the client at QoS 0.
  const received = new Promise<number>((resolve) =>
    client.once('message', (_topic, _payload, p) => resolve(p.qos)),
  )
  await client.publishAsync('tenant/x', 'm', { qos: 2 })
  assert.equal(await received, 0)
  await settled(webhook, receiver, 4)
  assert.deepEqual(bodies(receiver), [
    asked('sub', 'x', 2),
    subscribed('sub', 'tenant/x', 0),
    asked('sub', 'y', 2),
    subscribed('sub', 'tenant/y', 1),
  ])
})

test('authorizeSubscribe refuses one of two filters of a SUBSCRIBE: session_subscribed only for the other, untouched one', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_client_subscribe', 'on_session_subscribed'])
  const { url } = await startAttachedAedes(t, webhook, {
    authorizeSubscribe(_client, sub, done) {
      done(null, sub.topic === 'secret' ? null : sub)
    },
  })
  const opened = await openClient(t, url, { clientId: 'sub', username: 'u' })
  assert.ok(opened)
  // mqtt.js rejects a SUBACK that refuses any filter; the SUBACK itself grants `keep` and refuses `secret`.
  await assert.rejects(
    opened.client.subscribeAsync({ keep: { qos: 1 }, secret: { qos: 2 } }),
    (error: unknown) => {
      assert.deepEqual((error as { packet?: { granted?: number[] } }).packet?.granted, [1, 128])
      return true
    },
  )
  await settled(webhook, receiver, 3)
  assert.deepEqual(bodies(receiver), [
    asked('sub', 'keep', 1),
    asked('sub', 'secret', 2),
    subscribed('sub', 'keep', 1),
  ])
})
