import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createWebhook, type EnabledWebhookConfig, formatEvent, type WebhookConfig } from '../src/index.ts'

test('{ enable: false } alone is a WebhookConfig, and builds a webhook that sends nothing', async () => {
  const config: WebhookConfig = { enable: false }
  const webhook = createWebhook(config)
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c',
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
  })
  assert.equal(webhook.stats().matched, 0)
  await webhook.close()
})

test('an optional key given as undefined is the same as a missing one', async () => {
  // Every key of the type, each given as undefined.
  const config: EnabledWebhookConfig = {
    url: 'http://127.0.0.1:9/',
    events: [{ event: 'on_client_connack', topic: undefined }],
    headers: undefined,
    body: undefined,
    'body.encoding': undefined,
    pool_size: undefined,
    cancel_timeout: undefined,
    tls: undefined,
    ssl: undefined,
    retry: undefined,
    max_queue: undefined,
    ordering: undefined,
    secret: undefined,
    enable: undefined,
  }
  const sent: string[] = []
  const webhook = createWebhook(config, {
    send: async (request) => {
      sent.push(request.body)
      return { status: 200 }
    },
    logger: undefined,
  })
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c',
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
  })
  await webhook.flush()
  await webhook.close()
  assert.deepEqual(sent, [
    '{"proto_ver":4,"keepalive":60,"conn_ack":"success","username":"undefined","clientid":"c","action":"client_connack"}',
  ])
})

test("formatEvent's result is typed as the event's body", () => {
  const body = formatEvent({
    event: 'on_session_subscribed',
    clientid: 'c',
    topic: 'a/#',
    opts: { qos: 1 },
  })
  // Each of these would be a compile error if formatEvent returned Record<string, unknown>.
  const action: 'session_subscribed' = body.action
  const qos: 0 | 1 | 2 = body.opts.qos
  assert.deepEqual(
    { action, qos, username: body.username },
    { action: 'session_subscribed', qos: 1, username: 'undefined' },
  )
})
