import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { HookEvent } from '../src/events.ts'
import { eventsNamed, startAttachedAedes } from './helpers/aedes.ts'
import { closeClient, collectMessages, connectClient } from './helpers/mqtt.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const messageEvents = ['on_message_publish', 'on_message_delivered', 'on_message_acked'] as const

/** The events with the payload as text, so that a failed comparison reads well; `ts` checked to be a number, then taken out. */
function readable(events: HookEvent[]): Array<Record<string, unknown>> {
  return events.map((event) => {
    const copy: Record<string, unknown> =
      'payload' in event ? { ...event, payload: Buffer.from(event.payload).toString() } : { ...event }
    if ('ts' in copy) {
      assert.equal(typeof copy.ts, 'number', `${event.event}.ts is a number`)
      delete copy.ts
    }
    return copy
  })
}

test('QoS 0, 1 and 2: published once, delivered once per subscriber with the QoS sent, acked for QoS 1 and 2', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const subscriber = await connectClient(t, url, { clientId: 'sub', username: 'us' })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 'q/#': { qos: 2 } })
  const publisher = await connectClient(t, url, { clientId: 'pub', username: 'up' })
  await publisher.publishAsync('q/0', 'zero', { qos: 0 })
  await publisher.publishAsync('q/1', 'one', { qos: 1 })
  await publisher.publishAsync('q/2', 'two', { qos: 2 })
  await received.waitFor(3)
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_acked').length === 2)

  const from = { from_client_id: 'pub', from_username: 'up', retain: false }
  const to = { clientid: 'sub', username: 'us' }
  const byTopic = (topic: string) =>
    readable(eventsNamed(webhook.events, ...messageEvents).filter((event) => event.topic === topic))
  assert.deepEqual(byTopic('q/0'), [
    { event: 'on_message_publish', ...from, topic: 'q/0', qos: 0, payload: 'zero' },
    { event: 'on_message_delivered', ...to, ...from, topic: 'q/0', qos: 0, payload: 'zero' },
  ])
  assert.deepEqual(byTopic('q/1'), [
    { event: 'on_message_publish', ...from, topic: 'q/1', qos: 1, payload: 'one' },
    { event: 'on_message_delivered', ...to, ...from, topic: 'q/1', qos: 1, payload: 'one' },
    { event: 'on_message_acked', ...to, ...from, topic: 'q/1', qos: 1, payload: 'one' },
  ])
  assert.deepEqual(byTopic('q/2'), [
    { event: 'on_message_publish', ...from, topic: 'q/2', qos: 2, payload: 'two' },
    { event: 'on_message_delivered', ...to, ...from, topic: 'q/2', qos: 2, payload: 'two' },
    { event: 'on_message_acked', ...to, ...from, topic: 'q/2', qos: 2, payload: 'two' },
  ])
  assert.deepEqual(webhook.errors, [])
})

test('delivered and acked carry the QoS each subscriber really got (QoS 0 subscription, exact and wildcard QoS 1 ones)', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const subscribers = { low: { 'd/#': 0 }, mid: { 'd/x': 1 }, wild: { 'd/+': 1 } } as const
  const received = new Map<string, ReturnType<typeof collectMessages>>()
  for (const [clientId, filters] of Object.entries(subscribers)) {
    const client = await connectClient(t, url, { clientId })
    received.set(clientId, collectMessages(client))
    await client.subscribeAsync(Object.fromEntries(Object.entries(filters).map(([f, qos]) => [f, { qos }])))
  }
  const publisher = await connectClient(t, url, { clientId: 'pub' })
  await publisher.publishAsync('d/x', 'm', { qos: 2 })
  for (const collected of received.values()) await collected.waitFor(1)
  const got = Object.fromEntries(
    [...received].map(([clientId, collected]) => [clientId, collected.messages[0]?.qos]),
  )
  // aedes 1.2 downgrades only by a subscription to the exact topic: the wildcard QoS 1 subscriber gets QoS 2.
  assert.deepEqual(got, { low: 0, mid: 1, wild: 2 }, 'what the subscribers really got')
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_acked').length === 2)

  const delivered = Object.fromEntries(
    eventsNamed(webhook.events, 'on_message_delivered').map((event) => [event.clientid, event.qos]),
  )
  const acked = Object.fromEntries(
    eventsNamed(webhook.events, 'on_message_acked').map((e) => [e.clientid, e.qos]),
  )
  assert.deepEqual(delivered, got)
  assert.deepEqual(acked, { mid: 1, wild: 2 })
  assert.deepEqual(webhook.errors, [])
})

test('a retained message is delivered (retain true, from its publisher) to a later subscriber, and acked', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const publisher = await connectClient(t, url, { clientId: 'rpub', username: 'ur' })
  await publisher.publishAsync('r/1', 'keep-me', { qos: 1, retain: true })
  await closeClient(publisher)
  const subscriber = await connectClient(t, url, { clientId: 'late', username: 'ul' })
  const received = collectMessages(subscriber)
  await subscriber.subscribeAsync({ 'r/#': { qos: 1 } })
  await received.waitFor(1)
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_acked').length === 1)

  assert.deepEqual(received.messages, [{ topic: 'r/1', payload: 'keep-me', qos: 1, retain: true }])
  const message = {
    from_client_id: 'rpub',
    from_username: 'ur',
    topic: 'r/1',
    qos: 1,
    retain: true,
    payload: 'keep-me',
  }
  assert.deepEqual(readable(eventsNamed(webhook.events, ...messageEvents)), [
    { event: 'on_message_publish', ...message },
    { event: 'on_message_delivered', clientid: 'late', username: 'ul', ...message },
    { event: 'on_message_acked', clientid: 'late', username: 'ul', ...message },
  ])
})

test('a persistent session gets its queued message at reconnect: delivered then acked', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const away = await connectClient(t, url, { clientId: 'away', username: 'ua', clean: false })
  await away.subscribeAsync({ 'o/#': { qos: 1 } })
  await away.endAsync()
  const publisher = await connectClient(t, url, { clientId: 'opub', username: 'uo' })
  await publisher.publishAsync('o/1', 'while away', { qos: 1 })

  const back = await connectClient(t, url, { clientId: 'away', username: 'ua', clean: false })
  const received = collectMessages(back)
  await received.waitFor(1)
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_acked').length === 1)

  assert.deepEqual(received.messages, [{ topic: 'o/1', payload: 'while away', qos: 1, retain: false }])
  const message = {
    from_client_id: 'opub',
    from_username: 'uo',
    topic: 'o/1',
    qos: 1,
    retain: false,
    payload: 'while away',
  }
  assert.deepEqual(readable(eventsNamed(webhook.events, ...messageEvents)), [
    { event: 'on_message_publish', ...message },
    { event: 'on_message_delivered', clientid: 'away', username: 'ua', ...message },
    { event: 'on_message_acked', clientid: 'away', username: 'ua', ...message },
  ])
  assert.deepEqual(webhook.errors, [])
})

test('a will is published by the client that died; server code publishes with from_client_id null; $SYS never fires', async (t) => {
  const webhook = recordingWebhook()
  const { url, broker } = await startAttachedAedes(t, webhook)
  const watcher = await connectClient(t, url, { clientId: 'watch', username: 'uw' })
  const received = collectMessages(watcher)
  await watcher.subscribeAsync({ '$SYS/#': { qos: 0 }, 'w/#': { qos: 0 } })
  const dying = await connectClient(t, url, {
    clientId: 'dying',
    username: 'ud',
    will: { topic: 'w/will', payload: Buffer.from('gone'), qos: 0, retain: false },
  })
  await closeClient(dying)
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_publish').length === 1)
  await new Promise<void>((resolve, reject) =>
    broker.publish(
      {
        cmd: 'publish',
        topic: 'w/server',
        payload: Buffer.from('from server'),
        qos: 0,
        retain: false,
        dup: false,
      },
      (error) => (error ? reject(error) : resolve()),
    ),
  )
  await new Promise<void>((resolve, reject) =>
    broker.publish(
      {
        cmd: 'publish',
        topic: '$SYS/custom',
        payload: Buffer.from('sys'),
        qos: 0,
        retain: false,
        dup: false,
      },
      (error) => (error ? reject(error) : resolve()),
    ),
  )
  await received.waitFor(3)
  // The watcher did get $SYS traffic (the broker's own and ours); none of it became an event.
  assert.ok(received.messages.some((message) => message.topic === '$SYS/custom'))
  await webhook.waitFor((events) => eventsNamed(events, 'on_message_delivered').length === 2)

  const will = {
    from_client_id: 'dying',
    from_username: 'ud',
    topic: 'w/will',
    qos: 0,
    retain: false,
    payload: 'gone',
  }
  const server = {
    from_client_id: null,
    from_username: undefined,
    topic: 'w/server',
    qos: 0,
    retain: false,
    payload: 'from server',
  }
  const to = { clientid: 'watch', username: 'uw' }
  assert.deepEqual(readable(eventsNamed(webhook.events, ...messageEvents)), [
    { event: 'on_message_publish', ...will },
    { event: 'on_message_delivered', ...to, ...will },
    { event: 'on_message_publish', ...server },
    { event: 'on_message_delivered', ...to, ...server },
  ])
})
