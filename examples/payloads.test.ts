/**
 * Unit-testing what your broker would post, without an HTTP server or a broker:
 *
 * - `formatEvent(event, { encoding })` gives the exact body of one event, as an object in the body's key order;
 * - `options.send` replaces the HTTP sender, so a whole webhook (rules, topic filters, headers) runs in memory.
 *
 *   node --import tsx --test examples/payloads.test.ts
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createWebhook, formatEvent, type WebhookRequest } from '../src/index.ts'

test('formatEvent: the body of a publish, in each encoding', () => {
  const event = {
    event: 'on_message_publish',
    topic: 'sensors/kitchen/temp',
    qos: 1,
    retain: false,
    payload: Buffer.from('21.5'),
    from_client_id: 'thermo-1',
    from_username: 'devices',
    ts: 1_700_000_000_000,
  } as const

  assert.deepEqual(formatEvent(event, { encoding: 'plain' }), {
    ts: 1_700_000_000_000,
    topic: 'sensors/kitchen/temp',
    retain: false,
    qos: 1,
    action: 'message_publish',
    from_username: 'devices',
    from_client_id: 'thermo-1',
    payload: '21.5',
  })
  assert.equal(formatEvent(event, { encoding: 'base64' }).payload, 'MjEuNQ==')
  // The exact bytes on the wire: compact JSON in NanoMQ's key order.
  assert.equal(
    JSON.stringify(formatEvent(event)),
    '{"ts":1700000000000,"topic":"sensors/kitchen/temp","retain":false,"qos":1,"action":"message_publish","from_username":"devices","from_client_id":"thermo-1","payload":"21.5"}',
  )
})

test('formatEvent: a client without a username is "undefined", as NanoMQ sends it', () => {
  const body = formatEvent({ event: 'on_client_disconnected', clientid: 'c1', reason: 'normal' })
  assert.deepEqual(body, {
    reason: 'normal',
    username: 'undefined',
    clientid: 'c1',
    action: 'client_disconnected',
  })
})

test('options.send: which events a config posts, with which headers, without a server', async () => {
  const sent: WebhookRequest[] = []
  const webhook = createWebhook(
    {
      url: 'http://hooks.internal/mqtt',
      headers: { authorization: 'Bearer test-token' },
      events: [{ event: 'on_message_publish', topic: 'sensors/+/temp' }],
    },
    {
      send: async (request) => {
        sent.push(request)
        return { status: 200 }
      },
    },
  )
  const message = { event: 'on_message_publish', qos: 0, retain: false, from_client_id: 'thermo-1' } as const
  webhook.handle({ ...message, topic: 'sensors/kitchen/temp', payload: Buffer.from('21.5') })
  webhook.handle({ ...message, topic: 'sensors/kitchen/humidity', payload: Buffer.from('40') })
  await webhook.flush()
  await webhook.close()

  assert.equal(sent.length, 1, 'only the topic that matches sensors/+/temp is posted')
  assert.equal(sent[0]?.url, 'http://hooks.internal/mqtt')
  assert.equal(sent[0]?.headers.authorization, 'Bearer test-token')
  assert.equal(sent[0]?.headers['content-type'], 'application/json')
  const body = JSON.parse(sent[0]?.body ?? '{}') as Record<string, unknown>
  assert.equal(body.topic, 'sensors/kitchen/temp')
  assert.equal(body.payload, '21.5')
  assert.deepEqual(webhook.stats().events.on_message_publish, { matched: 1 })
})
