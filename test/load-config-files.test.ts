import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createWebhook, type HookEvent, loadConfig } from '../src/index.ts'
import type { WebhookRequest } from '../src/webhook-types.ts'

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))

test('the seed-style webhook = { ... } block reads as the config createWebhook takes', () => {
  assert.deepEqual(loadConfig(fixture('seed-webhook.conf')), {
    url: 'http://127.0.0.1:8080/hook',
    headers: { 'content-type': 'application/json' },
    body: { encoding: 'plain' },
    pool_size: 32,
    cancel_timeout: 5000,
    events: [{ event: 'on_message_publish', topic: 'sensors/+/temp' }, { event: 'on_client_connack' }],
  })
})

test('a full nanomq.conf: only the webhook block is read, every other block is skipped', () => {
  assert.deepEqual(loadConfig(fixture('nanomq-full.conf')), {
    url: 'http://127.0.0.1:8080/mqtt/events?source=edge',
    headers: { 'content-type': 'application/json', authorization: 'Bearer token-123' },
    body: { encoding: 'base64' },
    pool_size: 8,
    cancel_timeout: 2000,
    tls: { verify_peer: true, server_name_indication: 'hooks.example.test' },
    events: [
      { event: 'on_message_publish', topic: 'a/b/c' },
      { event: 'on_message_publish', topic: 'foo/#' },
      { event: 'on_client_connack' },
      { event: 'on_client_disconnected' },
    ],
  })
})

test('a legacy nanomq_old.conf: web.hook.* lines, the event taken from each rule, other lines ignored', () => {
  assert.deepEqual(loadConfig(fixture('nanomq-old.conf')), {
    enable: true,
    url: 'http://127.0.0.1:8080/legacy',
    headers: { 'content-type': 'application/json', 'x-source': 'edge-7' },
    body: { encoding: 'base62' },
    pool_size: 16,
    events: [
      { event: 'on_client_connack' },
      { event: 'on_client_disconnected' },
      { event: 'on_message_publish', topic: 'sensors/#' },
      { event: 'on_message_publish', topic: 'alerts/+' },
    ],
  })
})

test('JSON: { "webhook": { ... } } gives the inner object', () => {
  assert.deepEqual(loadConfig(fixture('webhook.json')), {
    url: 'https://127.0.0.1:8443/hook',
    headers: { 'content-type': 'application/json' },
    body: { encoding: 'BASE64' },
    events: [{ event: 'on_client_connected' }, { event: 'on_message_delivered', topic: 'x/#' }],
    retry: { max_attempts: 5 },
    ordering: 'per-client',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
})

const publish: HookEvent = {
  event: 'on_message_publish',
  topic: 'sensors/1/temp',
  qos: 0,
  retain: false,
  payload: Buffer.from('21.5'),
  from_client_id: 'c1',
  ts: 1_700_000_000_000,
}

test('a loaded file drives createWebhook: the seed block posts a matching publish', async () => {
  const sent: WebhookRequest[] = []
  const webhook = createWebhook(loadConfig(fixture('seed-webhook.conf')), {
    send: async (request) => {
      sent.push(request)
      return { status: 200 }
    },
  })
  try {
    webhook.handle(publish)
    webhook.handle({ ...publish, topic: 'other/topic' })
    await webhook.flush()
    assert.equal(sent.length, 1)
    assert.equal(sent[0]?.url, 'http://127.0.0.1:8080/hook')
    assert.equal(
      sent[0]?.body,
      '{"ts":1700000000000,"topic":"sensors/1/temp","retain":false,"qos":0,"action":"message_publish","from_username":"undefined","from_client_id":"c1","payload":"21.5"}',
    )
  } finally {
    await webhook.close()
  }
})

test('enable = false in the file gives a webhook that sends nothing', async () => {
  const config = loadConfig(fixture('disabled.conf'))
  assert.equal(config.enable, false)
  let sends = 0
  const webhook = createWebhook(config, {
    send: async () => {
      sends++
      return { status: 200 }
    },
  })
  try {
    webhook.handle(publish)
    await webhook.flush()
    assert.equal(sends, 0)
    assert.equal(webhook.stats().success, 0)
  } finally {
    await webhook.close()
  }
})
