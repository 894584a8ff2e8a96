import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventsNamed, startAttachedAedes } from './helpers/aedes.ts'
import { closeClient, connectClient, connectRefused, connectSilent } from './helpers/mqtt.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const clientEvents = [
  'on_client_connect',
  'on_client_connack',
  'on_client_connected',
  'on_client_disconnected',
  'on_session_terminated',
] as const

function assertNearNow(value: unknown): void {
  assert.equal(typeof value, 'number')
  assert.ok(Math.abs(Date.now() - (value as number)) < 60_000, `${value} is not a time near now`)
}

test('connect, connack and connected carry the CONNECT, the address and the connection time', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  await connectClient(t, url, { clientId: 'c1', username: 'u1', password: 'p', keepalive: 30 })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 1)

  const [connect, connack, connected, ...rest] = eventsNamed(webhook.events, ...clientEvents)
  assert.deepEqual(rest, [])
  assert.deepEqual(connect, {
    event: 'on_client_connect',
    clientid: 'c1',
    username: 'u1',
    ipaddress: '127.0.0.1',
    keepalive: 30,
    proto_ver: 4,
  })
  assert.deepEqual(connack, {
    event: 'on_client_connack',
    proto_ver: 4,
    keepalive: 30,
    conn_ack: 'success',
    username: 'u1',
    clientid: 'c1',
  })
  assert.ok(connected?.event === 'on_client_connected')
  assertNearNow(connected.connected_at)
  assert.deepEqual(
    { ...connected, connected_at: 0 },
    {
      event: 'on_client_connected',
      clientid: 'c1',
      username: 'u1',
      ipaddress: '127.0.0.1',
      keepalive: 30,
      proto_ver: 4,
      connected_at: 0,
    },
  )
  assert.deepEqual(webhook.errors, [])
})

test('a client without username has username undefined; MQTT 3.1 is proto_ver 3', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  await connectClient(t, url, { clientId: 'old', protocolVersion: 3, protocolId: 'MQIsdp', keepalive: 10 })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 1)
  const [connect, connack] = eventsNamed(webhook.events, 'on_client_connect', 'on_client_connack')
  assert.deepEqual(connect, {
    event: 'on_client_connect',
    clientid: 'old',
    username: undefined,
    ipaddress: '127.0.0.1',
    keepalive: 10,
    proto_ver: 3,
  })
  assert.equal(connack?.event === 'on_client_connack' && connack.conn_ack, 'success')
})

test("a login refused by the user's authenticate is still refused, and fires connect then a failed connack only", async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook, {
    authenticate: (_client, username, _password, done) => done(null, username === 'good'),
  })
  const code = await connectRefused(t, url, {
    clientId: 'bad',
    username: 'evil',
    password: 'x',
    keepalive: 20,
  })
  assert.equal(code, 5)
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connack').length === 1)
  // The accepted client that follows proves the refused one left nothing more behind.
  const good = await connectClient(t, url, { clientId: 'ok', username: 'good', keepalive: 20 })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 1)
  await closeClient(good)
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_disconnected').length === 1)

  const refused = eventsNamed(webhook.events, ...clientEvents).filter((event) => event.clientid === 'bad')
  assert.deepEqual(refused, [
    {
      event: 'on_client_connect',
      clientid: 'bad',
      username: 'evil',
      ipaddress: '127.0.0.1',
      keepalive: 20,
      proto_ver: 4,
    },
    {
      event: 'on_client_connack',
      proto_ver: 4,
      keepalive: 20,
      conn_ack: 'fail',
      username: 'evil',
      clientid: 'bad',
    },
  ])
})

test('DISCONNECT is a normal disconnect; a clean session ends with it', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const client = await connectClient(t, url, { clientId: 'bye', username: 'u1' })
  await client.endAsync()
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_terminated').length === 1)
  assert.deepEqual(eventsNamed(webhook.events, 'on_client_disconnected', 'on_session_terminated'), [
    { event: 'on_client_disconnected', reason: 'normal', username: 'u1', clientid: 'bye' },
    { event: 'on_session_terminated', clientid: 'bye', username: 'u1', reason: 'normal' },
  ])
})

test('a dropped socket is an abnormal disconnect', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const client = await connectClient(t, url, { clientId: 'drop', username: 'u2' })
  await closeClient(client)
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_terminated').length === 1)
  assert.deepEqual(eventsNamed(webhook.events, 'on_client_disconnected', 'on_session_terminated'), [
    { event: 'on_client_disconnected', reason: 'abnormal', username: 'u2', clientid: 'drop' },
    { event: 'on_session_terminated', clientid: 'drop', username: 'u2', reason: 'abnormal' },
  ])
})

test('a keepalive timeout is an abnormal disconnect', async (t) => {
  const webhook = recordingWebhook()
  const { port } = await startAttachedAedes(t, webhook)
  await connectSilent(t, port, { clientId: 'quiet', keepalive: 1, username: 'u3' })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_disconnected').length === 1)
  assert.deepEqual(eventsNamed(webhook.events, 'on_client_disconnected'), [
    { event: 'on_client_disconnected', reason: 'abnormal', username: 'u3', clientid: 'quiet' },
  ])
})

test('a persistent session outlives its connection; a clean connection with its id later discards it', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const first = await connectClient(t, url, { clientId: 'keep', username: 'u1', clean: false })
  await first.endAsync()
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_disconnected').length === 1)
  assert.deepEqual(eventsNamed(webhook.events, 'on_session_terminated'), [])

  const second = await connectClient(t, url, { clientId: 'keep', username: 'u9', clean: true })
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_terminated').length === 1)
  assert.deepEqual(eventsNamed(webhook.events, 'on_session_terminated'), [
    { event: 'on_session_terminated', clientid: 'keep', username: 'u1', reason: 'discarded' },
  ])
  await second.endAsync()
})

test('takeover: the old connection is an abnormal disconnect and its clean session ends', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  await connectClient(t, url, { clientId: 'same', username: 'old' })
  await connectClient(t, url, { clientId: 'same', username: 'new', clean: false })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 2)
  assert.deepEqual(eventsNamed(webhook.events, 'on_client_disconnected', 'on_session_terminated'), [
    { event: 'on_client_disconnected', reason: 'abnormal', username: 'old', clientid: 'same' },
    { event: 'on_session_terminated', clientid: 'same', username: 'old', reason: 'takeovered' },
  ])
})

test('takeover of a persistent session by a persistent connection does not end it; by a clean one discards it', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  await connectClient(t, url, { clientId: 'p', username: 'a', clean: false })
  await connectClient(t, url, { clientId: 'p', username: 'b', clean: false })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 2)
  assert.deepEqual(eventsNamed(webhook.events, 'on_session_terminated'), [])

  await connectClient(t, url, { clientId: 'p', username: 'c', clean: true })
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connected').length === 3)
  assert.deepEqual(eventsNamed(webhook.events, 'on_client_disconnected', 'on_session_terminated'), [
    { event: 'on_client_disconnected', reason: 'abnormal', username: 'a', clientid: 'p' },
    { event: 'on_client_disconnected', reason: 'abnormal', username: 'b', clientid: 'p' },
    { event: 'on_session_terminated', clientid: 'p', username: 'b', reason: 'discarded' },
  ])
})

test('an MQTT 5 CONNECT, which aedes 1.x refuses, fires connect and a failed connack with the id it carried', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  await assert.rejects(
    connectClient(t, url, { clientId: 'v5', username: 'u5', protocolVersion: 5, keepalive: 15 }),
  )
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_connack').length === 1)
  assert.deepEqual(eventsNamed(webhook.events, ...clientEvents), [
    {
      event: 'on_client_connect',
      clientid: 'v5',
      username: 'u5',
      ipaddress: '127.0.0.1',
      keepalive: 15,
      proto_ver: 5,
    },
    {
      event: 'on_client_connack',
      proto_ver: 5,
      keepalive: 15,
      conn_ack: 'fail',
      username: 'u5',
      clientid: 'v5',
    },
  ])
})
