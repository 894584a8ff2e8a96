/**
 * Issue 12, kind 1: the aedes adapter tells what happened to a session from what aedes did (it closed the
 * old connection for an authenticated new one; a clean CONNECT was accepted), never from a pending CONNECT
 * with the same client id. Real aedes, real mqtt.js clients, bodies as the receiver gets them, in order.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AedesOptions } from 'aedes'
import { startAttachedAedes } from './helpers/aedes.ts'
import { bodies, openClient, orderedWebhook, settled, sleep } from './helpers/identity.ts'

/** Passwords decide; `slow` users wait 300 ms for their answer. */
const slowAuthentication: AedesOptions['authenticate'] = (_client, username, password, done) => {
  const ok = String(password) !== 'bad'
  setTimeout(() => done(null, ok), username?.startsWith('slow') ? 300 : 0)
}

const SESSION_EVENTS = ['on_client_connack', 'on_client_disconnected', 'on_session_terminated'] as const

const connack = (clientid: string, username: string, conn_ack = 'success') => ({
  proto_ver: 4,
  keepalive: 60,
  conn_ack,
  username,
  clientid,
  action: 'client_connack',
})
const disconnected = (clientid: string, username: string, reason: string) => ({
  reason,
  username,
  clientid,
  action: 'client_disconnected',
})
const terminated = (clientid: string, username: string, reason: string) => ({
  clientid,
  username,
  reason,
  action: 'session_terminated',
})

for (const how of ['DISCONNECT', 'socket drop'] as const) {
  test(`a clean session left by ${how} while a CONNECT with its id is still authenticated (then refused) ends ${how === 'DISCONNECT' ? 'normal' : 'abnormal'}, not discarded`, async (t) => {
    const { webhook, receiver } = await orderedWebhook(t, [...SESSION_EVENTS])
    const { url } = await startAttachedAedes(t, webhook, { authenticate: slowAuthentication })
    const a = await openClient(t, url, { clientId: 'dev', username: 'ua', password: 'good' })
    assert.ok(a)
    const b = openClient(t, url, { clientId: 'dev', username: 'slow-b', password: 'bad' })
    await sleep(50)
    if (how === 'DISCONNECT') a.client.end()
    else a.client.stream.destroy()
    assert.equal(await b, null, 'B is refused')
    await settled(webhook, receiver, 4)
    const reason = how === 'DISCONNECT' ? 'normal' : 'abnormal'
    assert.deepEqual(bodies(receiver), [
      connack('dev', 'ua'),
      disconnected('dev', 'ua', reason),
      terminated('dev', 'ua', reason),
      connack('dev', 'slow-b', 'fail'),
    ])
  })
}

test('a persistent session left while a refused clean CONNECT is pending is kept: resumed later, discarded only by an accepted clean CONNECT', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [...SESSION_EVENTS])
  const { url } = await startAttachedAedes(t, webhook, { authenticate: slowAuthentication })
  const a = await openClient(t, url, { clientId: 'dev', clean: false, username: 'ua', password: 'good' })
  assert.ok(a)
  await a.client.subscribeAsync('x', { qos: 1 })
  const b = openClient(t, url, { clientId: 'dev', clean: true, username: 'slow-b', password: 'bad' })
  await sleep(50)
  await a.client.endAsync()
  assert.equal(await b, null)
  const c = await openClient(t, url, { clientId: 'dev', clean: false, username: 'uc', password: 'good' })
  assert.equal(c?.sessionPresent, true, 'aedes kept the session')
  await c.client.endAsync()
  const d = await openClient(t, url, { clientId: 'dev', clean: true, username: 'ud', password: 'good' })
  assert.equal(d?.sessionPresent, false)
  await d.client.endAsync()
  await settled(webhook, receiver, 9)
  assert.deepEqual(bodies(receiver), [
    connack('dev', 'ua'),
    disconnected('dev', 'ua', 'normal'),
    connack('dev', 'slow-b', 'fail'),
    connack('dev', 'uc'),
    disconnected('dev', 'uc', 'normal'),
    // D's clean CONNECT made aedes wipe the stored session before it answered.
    terminated('dev', 'uc', 'discarded'),
    connack('dev', 'ud'),
    disconnected('dev', 'ud', 'normal'),
    terminated('dev', 'ud', 'normal'),
  ])
})

test('a slow CONNECT that is accepted takes over: the old clean session is discarded when aedes closes it, before the new CONNACK', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [...SESSION_EVENTS])
  const { url } = await startAttachedAedes(t, webhook, { authenticate: slowAuthentication })
  const a = await openClient(t, url, { clientId: 'dev', username: 'ua', password: 'good' })
  assert.ok(a)
  const aClosed = new Promise<void>((resolve) => a.client.once('close', () => resolve()))
  const b = await openClient(t, url, { clientId: 'dev', username: 'slow-b', password: 'good' })
  assert.ok(b)
  await aClosed
  await b.client.endAsync()
  await settled(webhook, receiver, 6)
  assert.deepEqual(bodies(receiver), [
    connack('dev', 'ua'),
    disconnected('dev', 'ua', 'abnormal'),
    terminated('dev', 'ua', 'discarded'),
    connack('dev', 'slow-b'),
    disconnected('dev', 'slow-b', 'normal'),
    terminated('dev', 'slow-b', 'normal'),
  ])
})

test('a reconnect race: A says DISCONNECT while the CONNECT that will be accepted for its id is authenticated: A ends normal, nothing is taken over', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [...SESSION_EVENTS])
  const { url } = await startAttachedAedes(t, webhook, { authenticate: slowAuthentication })
  const a = await openClient(t, url, { clientId: 'dev', username: 'ua', password: 'good' })
  assert.ok(a)
  const b = openClient(t, url, { clientId: 'dev', username: 'slow-b', password: 'good' })
  await sleep(50)
  await a.client.endAsync()
  const accepted = await b
  assert.equal(accepted?.sessionPresent, false)
  await settled(webhook, receiver, 4)
  assert.deepEqual(bodies(receiver), [
    connack('dev', 'ua'),
    disconnected('dev', 'ua', 'normal'),
    terminated('dev', 'ua', 'normal'),
    connack('dev', 'slow-b'),
  ])
})

test('takeovers by the next CONNECT: persistent to persistent keeps the session, clean to persistent is takeovered, persistent to clean is discarded', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [...SESSION_EVENTS])
  const { url } = await startAttachedAedes(t, webhook)
  const a = await openClient(t, url, { clientId: 'p', clean: false, username: 'ua' })
  assert.ok(a)
  await a.client.subscribeAsync('x', { qos: 1 })
  const b = await openClient(t, url, { clientId: 'p', clean: false, username: 'ub' })
  assert.equal(b?.sessionPresent, true, 'B resumed the session A held')
  const c = await openClient(t, url, { clientId: 'p', clean: true, username: 'uc' })
  assert.ok(c)
  const d = await openClient(t, url, { clientId: 'p', clean: false, username: 'ud' })
  assert.equal(d?.sessionPresent, false)
  await d.client.endAsync()
  await settled(webhook, receiver, 10)
  assert.deepEqual(bodies(receiver), [
    connack('p', 'ua'),
    disconnected('p', 'ua', 'abnormal'),
    connack('p', 'ub'),
    disconnected('p', 'ub', 'abnormal'),
    terminated('p', 'ub', 'discarded'),
    connack('p', 'uc'),
    disconnected('p', 'uc', 'abnormal'),
    terminated('p', 'uc', 'takeovered'),
    connack('p', 'ud'),
    // D's session is persistent: kept after it leaves.
    disconnected('p', 'ud', 'normal'),
  ])
  assert.equal(receiver.accepted.length, 10)
})
