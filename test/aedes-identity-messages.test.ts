/**
 * Issue 12, kind 3: the aedes adapter correlates by protocol identifiers, not by position or arrival time.
 * Acks are matched to what was sent by packet id, per connection; a message's publish event comes before its
 * deliveries, with the `ts` of when aedes took it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Aedes } from 'aedes'
import { startAttachedAedes } from './helpers/aedes.ts'
import { bodies, openClient, orderedWebhook, publishOf, rawClient, settled } from './helpers/identity.ts'

function serverPublish(broker: Aedes, topic: string, payload: string, qos: 0 | 1 | 2): Promise<void> {
  return new Promise((resolve, reject) =>
    broker.publish(
      { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false },
      (error) => (error ? reject(error) : resolve()),
    ),
  )
}

const fromServer = { from_client_id: null, from_username: 'undefined', topic: 't', retain: false }
const toSub = { clientid: 'sub', username: 'undefined' }

async function subscribedRaw(t: Parameters<typeof rawClient>[0], port: number, qos: 1 | 2) {
  const raw = await rawClient(t, port)
  raw.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: 'sub',
    keepalive: 60,
  })
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos }] })
  await raw.waitFor((got) => got.some((packet) => packet.cmd === 'suback'))
  return raw
}

test('QoS 1: only the message whose packet id the PUBACK names is acked, whatever the order', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_message_delivered', 'on_message_acked'])
  const { broker, port } = await startAttachedAedes(t, webhook)
  const raw = await subscribedRaw(t, port, 1)
  for (const payload of ['m1', 'm2', 'm3']) await serverPublish(broker, 't', payload, 1)
  await raw.waitFor((got) => got.filter((packet) => packet.cmd === 'publish').length === 3)
  raw.send({ cmd: 'puback', messageId: publishOf(raw, 'm2').messageId })
  await receiver.waitForAccepted(4)
  raw.send({ cmd: 'puback', messageId: publishOf(raw, 'm3').messageId })
  // A repeated PUBACK names nothing any more.
  raw.send({ cmd: 'puback', messageId: publishOf(raw, 'm3').messageId })
  await settled(webhook, receiver, 5)
  const message = (payload: string) => ({ ...fromServer, ...toSub, qos: 1, payload })
  assert.deepEqual(bodies(receiver), [
    { ...message('m1'), action: 'message_delivered' },
    { ...message('m2'), action: 'message_delivered' },
    { ...message('m3'), action: 'message_delivered' },
    { ...message('m2'), action: 'message_acked' },
    { ...message('m3'), action: 'message_acked' },
  ])
})

test('QoS 2: PUBREC and PUBCOMP out of order, each ack names the message of its packet id', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_message_acked'])
  const { broker, port } = await startAttachedAedes(t, webhook)
  const raw = await subscribedRaw(t, port, 2)
  for (const payload of ['m1', 'm2', 'm3']) await serverPublish(broker, 't', payload, 2)
  await raw.waitFor((got) => got.filter((packet) => packet.cmd === 'publish').length === 3)
  const id = (payload: string) => publishOf(raw, payload).messageId
  const pubrels = (n: number) => raw.waitFor((got) => got.filter((p) => p.cmd === 'pubrel').length === n)
  raw.send({ cmd: 'pubrec', messageId: id('m3') })
  raw.send({ cmd: 'pubrec', messageId: id('m1') })
  await pubrels(2)
  raw.send({ cmd: 'pubcomp', messageId: id('m1') })
  raw.send({ cmd: 'pubrec', messageId: id('m2') })
  await pubrels(3)
  raw.send({ cmd: 'pubcomp', messageId: id('m3') })
  raw.send({ cmd: 'pubcomp', messageId: id('m2') })
  await settled(webhook, receiver, 3)
  const acked = (payload: string) => ({ ...fromServer, ...toSub, qos: 2, payload, action: 'message_acked' })
  assert.deepEqual(bodies(receiver), [acked('m1'), acked('m3'), acked('m2')])
})

test('a message is published before it is delivered: its publish body comes first, with a ts no later than any delivery', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_message_publish', 'on_message_delivered'])
  const { url } = await startAttachedAedes(t, webhook)
  const subscribers = []
  for (const clientId of ['s1', 's2']) {
    const subscriber = await openClient(t, url, { clientId })
    assert.ok(subscriber)
    await subscriber.client.subscribeAsync('t', { qos: 1 })
    subscribers.push(subscriber)
  }
  const publisher = await openClient(t, url, { clientId: 'pub' })
  assert.ok(publisher)
  const payloads = Array.from({ length: 20 }, (_, i) => `m${i + 1}`)
  for (const payload of payloads) await publisher.client.publishAsync('t', payload, { qos: 0 })
  await settled(webhook, receiver, 60)
  const received = receiver.acceptedBodies() as Array<{
    action: string
    payload: string
    ts: number
    clientid?: string
  }>
  assert.deepEqual(
    received.filter((body) => body.action === 'message_publish').map((body) => body.payload),
    payloads,
    'published in the order sent',
  )
  for (const payload of payloads) {
    const index = received.findIndex((body) => body.payload === payload)
    const published = received[index]
    assert.equal(published?.action, 'message_publish', `${payload}: its first body is its publish`)
    const deliveries = received.filter(
      (body) => body.payload === payload && body.action === 'message_delivered',
    )
    assert.deepEqual(deliveries.map((body) => body.clientid).sort(), ['s1', 's2'])
    for (const delivery of deliveries)
      assert.ok(
        published.ts <= delivery.ts,
        `${payload}: publish ts ${published.ts} <= delivered ts ${delivery.ts}`,
      )
  }
})

test('a will across a takeover: published by the client taken over (its identity, not the new one), as aedes closes it, before the new CONNACK', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, [
    'on_client_connack',
    'on_client_disconnected',
    'on_session_terminated',
    'on_message_publish',
    'on_message_delivered',
  ])
  const { url } = await startAttachedAedes(t, webhook)
  const watcher = await openClient(t, url, { clientId: 'watch', username: 'uw' })
  assert.ok(watcher)
  await watcher.client.subscribeAsync('status/#', { qos: 0 })
  const a = await openClient(t, url, {
    clientId: 'dev',
    username: 'ua',
    will: { topic: 'status/dev', payload: Buffer.from('offline'), qos: 0, retain: false },
  })
  assert.ok(a)
  const b = await openClient(t, url, { clientId: 'dev', username: 'ub' })
  assert.ok(b)
  await settled(webhook, receiver, 7)
  const will = {
    topic: 'status/dev',
    retain: false,
    qos: 0,
    from_username: 'ua',
    from_client_id: 'dev',
    payload: 'offline',
  }
  const connack = (clientid: string, username: string) => ({
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
    clientid,
    username,
    action: 'client_connack',
  })
  const got = bodies(receiver)
  assert.deepEqual(got, [
    connack('watch', 'uw'),
    connack('dev', 'ua'),
    // aedes publishes the will, and routes it, as it closes A, before it unregisters A.
    { ...will, action: 'message_publish' },
    { ...will, clientid: 'watch', username: 'uw', action: 'message_delivered' },
    { reason: 'abnormal', clientid: 'dev', username: 'ua', action: 'client_disconnected' },
    { clientid: 'dev', username: 'ua', reason: 'discarded', action: 'session_terminated' },
    connack('dev', 'ub'),
  ])
})

test('QoS 1 and 2 publishes, and a retained message replayed to a later subscriber: each publish body first, then its deliveries, ts in that order', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_message_publish', 'on_message_delivered'])
  const { url } = await startAttachedAedes(t, webhook)
  const early = await openClient(t, url, { clientId: 'early' })
  assert.ok(early)
  await early.client.subscribeAsync('r/#', { qos: 2 })
  const publisher = await openClient(t, url, { clientId: 'pub', username: 'up' })
  assert.ok(publisher)
  await publisher.client.publishAsync('r/1', 'one', { qos: 1 })
  await publisher.client.publishAsync('r/2', 'two', { qos: 2, retain: true })
  await receiver.waitForAccepted(4)
  const late = await openClient(t, url, { clientId: 'late' })
  assert.ok(late)
  await late.client.subscribeAsync('r/2', { qos: 1 })
  await settled(webhook, receiver, 5)
  const received = receiver.acceptedBodies() as Array<Record<string, unknown> & { ts: number }>
  assert.deepEqual(
    received.map((body) => `${body.action} ${body.payload} ${body.clientid ?? ''}`.trim()),
    [
      'message_publish one',
      'message_delivered one early',
      'message_publish two',
      'message_delivered two early',
      'message_delivered two late',
    ],
  )
  const [publishOne, toEarly, publishTwo, twoToEarly, twoToLate] = received
  assert.ok(publishOne && toEarly && publishTwo && twoToEarly && twoToLate)
  assert.ok(publishOne.ts <= toEarly.ts && toEarly.ts <= publishTwo.ts)
  assert.ok(publishTwo.ts <= twoToEarly.ts && twoToEarly.ts <= twoToLate.ts)
  assert.deepEqual(
    { ...twoToLate, ts: 0 },
    {
      action: 'message_delivered',
      clientid: 'late',
      username: 'undefined',
      from_client_id: 'pub',
      from_username: 'up',
      topic: 'r/2',
      qos: 1,
      retain: true,
      payload: 'two',
      ts: 0,
    },
  )
})

test('a message aedes refuses to take (deeper than maxTopicLevels) fires no publish event', async (t) => {
  const { webhook, receiver } = await orderedWebhook(t, ['on_message_publish'])
  const { broker } = await startAttachedAedes(t, webhook, { maxTopicLevels: 3 })
  await assert.rejects(serverPublish(broker, 'a/b/c/d', 'deep', 0), /too many levels/)
  await serverPublish(broker, 'a/b/c', 'ok', 0)
  await settled(webhook, receiver, 1)
  assert.deepEqual(bodies(receiver), [
    {
      topic: 'a/b/c',
      retain: false,
      qos: 0,
      action: 'message_publish',
      from_username: 'undefined',
      from_client_id: null,
      payload: 'ok',
    },
  ])
})
