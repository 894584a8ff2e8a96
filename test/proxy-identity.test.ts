/**
 * Issue 12, kind 4: the proxy links the connections that share a client id, so that what one does to
 * another (a takeover, a session resumed, discarded or expired) is reported as the broker did it, in order.
 * Real mosquitto behind the proxy, real mqtt.js clients, bodies as the receiver gets them.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { test } from 'node:test'
import type { HookEventName } from '../src/events.ts'
import { bodies, openClient, orderedWebhook, settled, sleep } from './helpers/identity.ts'
import { type MosquittoOptions, startMosquitto } from './helpers/mosquitto.ts'
import { startLoopbackProxy } from './helpers/proxy.ts'

const SESSION_EVENTS: HookEventName[] = [
  'on_client_connected',
  'on_client_disconnected',
  'on_session_terminated',
]

async function setup(t: TestContext, events: HookEventName[], options: MosquittoOptions = {}) {
  const broker = await startMosquitto(options)
  t.after(() => broker.close())
  const { webhook, receiver } = await orderedWebhook(t, events)
  const proxy = await startLoopbackProxy(t, broker.port, webhook)
  return { webhook, receiver, url: `mqtt://127.0.0.1:${proxy.address.port}` }
}

const connected = (clientid: string, username = 'undefined', proto_ver = 4) => ({
  clientid,
  username,
  ipaddress: '127.0.0.1',
  keepalive: 60,
  proto_ver,
  action: 'client_connected',
})
const disconnected = (clientid: string, reason: string, username = 'undefined') => ({
  reason,
  username,
  clientid,
  action: 'client_disconnected',
})
const terminated = (clientid: string, reason: string, username = 'undefined') => ({
  clientid,
  username,
  reason,
  action: 'session_terminated',
})

test('a takeover through the proxy, ten times: the old connection ends (abnormal, its clean session discarded) before the new one is connected', async (t) => {
  const { webhook, receiver, url } = await setup(t, SESSION_EVENTS)
  const expected = []
  for (let i = 0; i < 10; i++) {
    const id = `dev${i}`
    const a = await openClient(t, url, { clientId: id })
    assert.ok(a)
    const aClosed = new Promise<void>((resolve) => a.client.once('close', () => resolve()))
    const b = await openClient(t, url, { clientId: id })
    assert.ok(b)
    await aClosed
    expected.push(connected(id), disconnected(id, 'abnormal'), terminated(id, 'discarded'), connected(id))
  }
  await settled(webhook, receiver, expected.length)
  assert.deepEqual(bodies(receiver), expected)
})

test('persistent sessions through the proxy: resumed by a persistent takeover (no end), discarded by a clean one, by what the CONNACK says', async (t) => {
  const { webhook, receiver, url } = await setup(t, SESSION_EVENTS)
  const a = await openClient(t, url, { clientId: 'p', clean: false, username: 'ua' })
  assert.ok(a)
  await a.client.subscribeAsync('x', { qos: 1 })
  const b = await openClient(t, url, { clientId: 'p', clean: false, username: 'ub' })
  assert.equal(b?.sessionPresent, true, 'mosquitto handed the session on')
  const c = await openClient(t, url, { clientId: 'p', clean: true, username: 'uc' })
  assert.equal(c?.sessionPresent, false)
  await c.client.endAsync()
  // Left offline, then discarded by a clean CONNECT: its end comes with that CONNECT's CONNACK.
  const d = await openClient(t, url, { clientId: 'q', clean: false, username: 'ud' })
  assert.ok(d)
  await d.client.endAsync()
  const e = await openClient(t, url, { clientId: 'q', clean: true, username: 'ue' })
  assert.ok(e)
  await settled(webhook, receiver, 12)
  assert.deepEqual(bodies(receiver), [
    connected('p', 'ua'),
    disconnected('p', 'abnormal', 'ua'),
    connected('p', 'ub'),
    disconnected('p', 'abnormal', 'ub'),
    terminated('p', 'discarded', 'ub'),
    connected('p', 'uc'),
    disconnected('p', 'normal', 'uc'),
    terminated('p', 'normal', 'uc'),
    connected('q', 'ud'),
    disconnected('q', 'normal', 'ud'),
    terminated('q', 'discarded', 'ud'),
    connected('q', 'ue'),
  ])
})

test('a connection that drops while a CONNECT with its id is refused ended on its own: abnormal, not discarded', async (t) => {
  const { webhook, receiver, url } = await setup(t, ['on_client_connack', ...SESSION_EVENTS], {
    users: { alice: 'right' },
  })
  const a = await openClient(t, url, { clientId: 'dev', username: 'alice', password: 'right' })
  assert.ok(a)
  const b = openClient(t, url, { clientId: 'dev', username: 'alice', password: 'wrong' })
  a.client.stream.destroy()
  assert.equal(await b, null, 'B is refused')
  await settled(webhook, receiver, 5)
  const got = bodies(receiver)
  const refused = {
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'fail',
    username: 'alice',
    clientid: 'dev',
    action: 'client_connack',
  }
  assert.deepEqual(
    got.filter((body) => body.action !== 'client_connack' || body.conn_ack === 'success'),
    [
      { ...refused, conn_ack: 'success' },
      connected('dev', 'alice'),
      disconnected('dev', 'abnormal', 'alice'),
      terminated('dev', 'abnormal', 'alice'),
    ],
  )
  assert.deepEqual(
    got.filter((body) => body.conn_ack === 'fail'),
    [refused],
  )
})

test('MQTT 5 session expiry through the proxy: a kept session expires after its interval, one resumed does not, DISCONNECT can end it at once', async (t) => {
  const { webhook, receiver, url } = await setup(t, SESSION_EVENTS)
  const v5 = (clientId: string, sessionExpiryInterval: number, clean = false) => ({
    clientId,
    protocolVersion: 5 as const,
    clean,
    properties: { sessionExpiryInterval },
  })
  const short = await openClient(t, url, v5('short', 1))
  assert.ok(short)
  await short.client.endAsync()
  const kept = await openClient(t, url, v5('kept', 60))
  assert.ok(kept)
  await kept.client.subscribeAsync('x', { qos: 1 })
  await kept.client.endAsync()
  const back = await openClient(t, url, v5('kept', 60))
  assert.equal(back?.sessionPresent, true)
  await new Promise<void>((resolve) =>
    back.client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve()),
  )
  await sleep(1200)
  await settled(webhook, receiver, 8)
  assert.deepEqual(bodies(receiver), [
    connected('short', 'undefined', 5),
    disconnected('short', 'normal'),
    connected('kept', 'undefined', 5),
    disconnected('kept', 'normal'),
    connected('kept', 'undefined', 5),
    disconnected('kept', 'normal'),
    terminated('kept', 'normal'),
    terminated('short', 'expired'),
  ])
})

test('a will across a takeover through the proxy: delivered as published by the connection taken over, with its username', async (t) => {
  const { webhook, receiver, url } = await setup(t, [...SESSION_EVENTS, 'on_message_delivered'])
  const watcher = await openClient(t, url, { clientId: 'watch', username: 'uw' })
  assert.ok(watcher)
  await watcher.client.subscribeAsync('status/#', { qos: 0 })
  const a = await openClient(t, url, {
    clientId: 'dev',
    username: 'ua',
    will: { topic: 'status/dev', payload: Buffer.from('offline'), qos: 0, retain: false },
  })
  assert.ok(a)
  const willArrived = new Promise<void>((resolve) => watcher.client.once('message', () => resolve()))
  const b = await openClient(t, url, { clientId: 'dev', username: 'ub' })
  assert.ok(b)
  await willArrived
  await settled(webhook, receiver, 6)
  const got = bodies(receiver)
  // The will and B's CONNACK leave mosquitto on two sockets: their relative order is the network's.
  assert.deepEqual(
    got.filter((body) => body.action !== 'message_delivered'),
    [
      connected('watch', 'uw'),
      connected('dev', 'ua'),
      disconnected('dev', 'abnormal', 'ua'),
      terminated('dev', 'discarded', 'ua'),
      connected('dev', 'ub'),
    ],
  )
  assert.deepEqual(
    got.filter((body) => body.action === 'message_delivered'),
    [
      {
        action: 'message_delivered',
        clientid: 'watch',
        username: 'uw',
        from_client_id: 'dev',
        from_username: 'ua',
        topic: 'status/dev',
        qos: 0,
        retain: false,
        payload: 'offline',
      },
    ],
  )
})
