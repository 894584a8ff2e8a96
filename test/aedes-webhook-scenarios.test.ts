import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { test } from 'node:test'
import type { AedesOptions } from 'aedes'
import type { HookEventName } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import { startAttachedAedes } from './helpers/aedes.ts'
import { closeClient, collectMessages, connectClient, connectRefused, connectSilent } from './helpers/mqtt.ts'
import { type Receiver, startReceiver } from './helpers/receiver.ts'

/** aedes with a real webhook posting `events` to a loopback receiver. */
async function setup(
  t: TestContext,
  events: HookEventName[],
  options: { aedes?: AedesOptions; encoding?: 'plain' | 'base64' } = {},
): Promise<{ url: string; port: number; receiver: Receiver }> {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = createWebhook({
    url: receiver.url,
    events: events.map((event) => ({ event })),
    body: { encoding: options.encoding ?? 'plain' },
  })
  t.after(() => webhook.close({ timeout_ms: 1000 }))
  const { url, port } = await startAttachedAedes(t, webhook, options.aedes)
  return { url, port, receiver }
}

/** The bodies received, with `ts` replaced by 0 once checked to be a time near now. */
function bodiesWithoutTs(receiver: Receiver): Array<Record<string, unknown>> {
  return (receiver.acceptedBodies() as Array<Record<string, unknown>>).map((body) => {
    if (!('ts' in body)) return body
    assert.equal(typeof body.ts, 'number')
    assert.ok(Math.abs(Date.now() - (body.ts as number)) < 60_000, `ts ${body.ts} is near now`)
    return { ...body, ts: 0 }
  })
}

test('a refused login posts a failed connack (NanoMQ body) and no disconnect', async (t) => {
  const { url, receiver } = await setup(t, ['on_client_connack', 'on_client_disconnected'], {
    aedes: { authenticate: (_client, username, _password, done) => done(null, username === 'good') },
  })
  assert.equal(await connectRefused(t, url, { clientId: 'bad', username: 'evil', keepalive: 20 }), 5)
  await receiver.waitForAccepted(1)
  const good = await connectClient(t, url, { clientId: 'good', username: 'good', keepalive: 20 })
  await good.endAsync()
  await receiver.waitForAccepted(3)
  assert.deepEqual(receiver.accepted.map((request) => request.body).sort(), [
    '{"proto_ver":4,"keepalive":20,"conn_ack":"fail","username":"evil","clientid":"bad","action":"client_connack"}',
    '{"proto_ver":4,"keepalive":20,"conn_ack":"success","username":"good","clientid":"good","action":"client_connack"}',
    '{"reason":"normal","username":"good","clientid":"good","action":"client_disconnected"}',
  ])
})

test('a keepalive timeout posts an abnormal disconnect', async (t) => {
  const { port, receiver } = await setup(t, ['on_client_disconnected'])
  await connectSilent(t, port, { clientId: 'quiet', keepalive: 1 })
  await receiver.waitForAccepted(1)
  assert.deepEqual(
    receiver.accepted.map((request) => request.body),
    ['{"reason":"abnormal","username":"undefined","clientid":"quiet","action":"client_disconnected"}'],
  )
})

test('a will posts message_publish from the client that died (base64 payload)', async (t) => {
  const { url, receiver } = await setup(t, ['on_message_publish'], { encoding: 'base64' })
  const dying = await connectClient(t, url, {
    clientId: 'dying',
    username: 'ud',
    will: { topic: 'w/will', payload: Buffer.from([0, 255, 1]), qos: 1, retain: false },
  })
  await closeClient(dying)
  await receiver.waitForAccepted(1)
  assert.match(
    receiver.accepted[0]?.body ?? '',
    /^\{"ts":\d+,"topic":"w\/will","retain":false,"qos":1,"action":"message_publish","from_username":"ud","from_client_id":"dying","payload":"AP8B"\}$/,
  )
})

test('a retained message replayed on subscribe posts delivered and acked with its publisher', async (t) => {
  const { url, receiver } = await setup(t, ['on_message_delivered', 'on_message_acked'])
  const publisher = await connectClient(t, url, { clientId: 'rpub', username: 'ur' })
  await publisher.publishAsync('r/1', 'keep', { qos: 1, retain: true })
  await closeClient(publisher)
  const subscriber = await connectClient(t, url, { clientId: 'late', username: 'ul' })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 'r/#': { qos: 2 } })
  await received.waitFor(1)
  await receiver.waitForAccepted(2)
  const message = {
    clientid: 'late',
    username: 'ul',
    from_client_id: 'rpub',
    from_username: 'ur',
    topic: 'r/1',
    qos: 1,
    retain: true,
    payload: 'keep',
    ts: 0,
  }
  const bodies = bodiesWithoutTs(receiver).sort((a, b) => String(a.action).localeCompare(String(b.action)))
  assert.deepEqual(bodies, [
    { action: 'message_acked', ...message },
    { action: 'message_delivered', ...message },
  ])
})

test('a QoS 2 message queued for an offline persistent session posts delivered and acked at reconnect', async (t) => {
  const { url, receiver } = await setup(t, ['on_message_delivered', 'on_message_acked'])
  const away = await connectClient(t, url, { clientId: 'away', username: 'ua', clean: false })
  await away.subscribeAsync({ 'o/#': { qos: 2 } })
  await away.endAsync()
  const publisher = await connectClient(t, url, { clientId: 'opub', username: 'uo' })
  await publisher.publishAsync('o/2', 'queued', { qos: 2 })
  const back = await connectClient(t, url, { clientId: 'away', username: 'ua', clean: false })
  await collectMessages(back).waitFor(1)
  await receiver.waitForAccepted(2)
  const message = {
    clientid: 'away',
    username: 'ua',
    from_client_id: 'opub',
    from_username: 'uo',
    topic: 'o/2',
    qos: 2,
    retain: false,
    payload: 'queued',
    ts: 0,
  }
  const bodies = bodiesWithoutTs(receiver).sort((a, b) => String(a.action).localeCompare(String(b.action)))
  assert.deepEqual(bodies, [
    { action: 'message_acked', ...message },
    { action: 'message_delivered', ...message },
  ])
})

test('a takeover posts the old session terminated', async (t) => {
  const { url, receiver } = await setup(t, ['on_session_terminated'])
  await connectClient(t, url, { clientId: 'same', username: 'first' })
  await connectClient(t, url, { clientId: 'same', username: 'second' })
  await receiver.waitForAccepted(1)
  assert.deepEqual(receiver.acceptedBodies(), [
    { action: 'session_terminated', clientid: 'same', username: 'first', reason: 'discarded' },
  ])
})
