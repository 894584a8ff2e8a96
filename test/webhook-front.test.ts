import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { HookEvent } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import type { WebhookRequest, WebhookResponse } from '../src/webhook-types.ts'
import { collectReports, connack, nextReport, publish, publishBody, webhookFor } from './helpers/delivery.ts'

const URL = 'http://127.0.0.1:9/hook'
const HEADERS = { 'content-type': 'application/json', 'x-tenant': 't1' }

/** An `options.send` that records each request and answers from `statuses` (then 200). */
function recordingSend(statuses: number[] = []) {
  const requests: Array<Omit<WebhookRequest, 'signal'>> = []
  const send = async (request: WebhookRequest): Promise<WebhookResponse> => {
    const { signal: _signal, ...rest } = request
    requests.push(rest)
    return { status: statuses.shift() ?? 200 }
  }
  return { requests, send }
}

test('options.send receives exactly what would be posted, with no server', async (t) => {
  const { requests, send } = recordingSend([503])
  const webhook = webhookFor(
    t,
    { url: URL, headers: { 'x-tenant': 't1' }, retry: { base_delay: 1 } },
    { send },
  )
  const delivered = nextReport(webhook, 'delivered')

  webhook.handle(publish(3))
  const report = await delivered

  assert.deepEqual(requests, [
    {
      url: URL,
      headers: { ...HEADERS, 'webhook-id': report.id },
      body: publishBody(3),
      event: publish(3),
      events: [publish(3)],
      attempt: 1,
    },
    {
      url: URL,
      headers: { ...HEADERS, 'webhook-id': report.id },
      body: publishBody(3),
      event: publish(3),
      events: [publish(3)],
      attempt: 2,
    },
  ])
  assert.deepEqual([report.attempts, report.status], [2, 200])
})

test('options.send rejecting is a network error: retried, then failed with its code, secrets redacted', async (t) => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  let calls = 0
  const send = async () => {
    calls++
    throw Object.assign(new Error(`upstream refused Bearer tok-999 with ${secret}`), { code: 'EFAKE' })
  }
  const webhook = webhookFor(
    t,
    {
      url: URL,
      secret,
      headers: { authorization: 'Bearer tok-999' },
      retry: { max_attempts: 2, base_delay: 1 },
    },
    { send },
  )
  const failed = nextReport(webhook, 'failed')

  webhook.handle(connack())
  const report = await failed

  assert.equal(calls, 2)
  assert.deepEqual([report.attempts, report.code, report.status], [2, 'EFAKE', undefined])
  assert.equal(report.message, `POST ${URL} failed after 2 attempts: upstream refused *** with ***`)
})

test('handle() never throws, whatever it is given; problems are reported and counted', async (t) => {
  const { requests, send } = recordingSend()
  const webhook = webhookFor(t, { url: URL }, { send })
  const reports = collectReports(webhook)
  const hostile = {
    event: 'on_message_publish',
    get topic(): string {
      throw new Error('getter exploded')
    },
  }
  const garbage: unknown[] = [
    null,
    undefined,
    42,
    'on_message_publish',
    {},
    { event: 'on_nothing' },
    { event: 'on_message_publish', topic: 'a/b' },
    {
      event: 'on_message_publish',
      topic: 'a/b',
      payload: 'not bytes',
      qos: 1,
      retain: false,
      from_client_id: 'c',
    },
    {
      event: 'on_client_connack',
      clientid: 'c1',
      proto_ver: 4,
      keepalive: 60,
      conn_ack: 'success',
      username: 1n,
    },
    hostile,
  ]

  for (const event of garbage) assert.doesNotThrow(() => webhook.handle(event as HookEvent))
  webhook.handle(Object.freeze({ ...publish(1), ts: undefined }))
  await webhook.flush()

  const stats = webhook.stats()
  assert.equal(stats.errors, reports.errors.length)
  assert.ok(reports.errors.length >= 2, `errors: ${reports.errors.map((e) => e.message).join(' | ')}`)
  assert.equal(stats.success + stats.failed + stats.dropped, stats.matched)
  // The frozen event without ts was delivered, stamped with a time.
  const frozen = requests.find((r) => r.body.includes('"message 1"'))
  assert.equal(typeof (JSON.parse(frozen?.body ?? '{}') as { ts?: unknown }).ts, 'number')
})

test('a throwing listener or logger never reaches the caller', async (t) => {
  const warnings: string[] = []
  const logger = {
    debug() {},
    info() {},
    warn(_obj: object, msg?: string) {
      warnings.push(String(msg))
      throw new Error('logger down')
    },
    error() {},
  }
  const { send } = recordingSend()
  const webhook = webhookFor(t, { url: URL }, { send, logger })
  webhook.on('delivered', () => {
    throw new Error('listener bug')
  })

  webhook.handle(publish(1))
  await webhook.flush()
  // JSON.stringify throws on a BigInt: an error that is not about one delivery.
  assert.doesNotThrow(() => webhook.handle({ ...connack(), username: 1n } as unknown as HookEvent))

  assert.equal(webhook.stats().success, 1)
  assert.equal(webhook.stats().errors, 2)
  assert.equal(warnings.length, 2)
})

test('ts and connected_at default to the time of handle(), in the body and in the report', async (t) => {
  const { requests, send } = recordingSend()
  const webhook = webhookFor(
    t,
    { url: URL, events: [{ event: 'on_message_publish' }, { event: 'on_client_connected' }] },
    { send },
  )
  const reports = collectReports(webhook)
  const before = Date.now()

  webhook.handle({ ...publish(1), ts: undefined })
  webhook.handle({ event: 'on_client_connected', clientid: 'c1', keepalive: 60, proto_ver: 5 })
  await webhook.flush()
  const after = Date.now()

  const [publishBodyJson, connectedBody] = requests.map((r) => JSON.parse(r.body) as Record<string, number>)
  for (const stamp of [publishBodyJson?.ts, connectedBody?.connected_at]) {
    assert.ok(typeof stamp === 'number' && stamp >= before && stamp <= after, `stamp ${stamp}`)
  }
  assert.deepEqual(
    reports.delivered.map((r) =>
      'ts' in r.event ? r.event.ts : (r.event as { connected_at?: number }).connected_at,
    ),
    [publishBodyJson?.ts, connectedBody?.connected_at],
  )
})

test('enable: false sends nothing, counts nothing and wants nothing', async () => {
  const { requests, send } = recordingSend()
  const webhook = createWebhook(
    { url: URL, enable: false, events: [{ event: 'on_message_publish' }] },
    { send },
  )

  webhook.handle(publish(1))
  await webhook.flush()
  await webhook.close()

  assert.equal(requests.length, 0)
  assert.equal(webhook.wants('on_message_publish'), false)
  assert.deepEqual(webhook.stats(), {
    matched: 0,
    queued: 0,
    queued_bytes: 0,
    inflight: 0,
    inflight_bytes: 0,
    success: 0,
    failed: 0,
    retried: 0,
    dropped: 0,
    dropped_by_reason: { queue_full: 0, queue_bytes_full: 0, closed: 0 },
    paused: false,
    paused_until: null,
    events: {},
    errors: 0,
  })
})

test('wants() answers for the enabled events only', (t) => {
  const webhook = webhookFor(t, {
    url: URL,
    events: [{ event: 'on_message_publish', topic: 'a/#' }, { event: 'on_client_connack' }],
  })
  assert.deepEqual(
    ['on_message_publish', 'on_client_connack', 'on_message_delivered', 'on_client_connect'].map((name) =>
      webhook.wants(name as Parameters<typeof webhook.wants>[0]),
    ),
    [true, true, false, false],
  )
})

test('a big base62 payload neither reorders its client nor stalls the others', async (t) => {
  const { requests, send } = recordingSend()
  const webhook = webhookFor(t, { url: URL, ordering: 'per-client', body: { encoding: 'base62' } }, { send })
  // Leading zero bytes are one '0' each: the expected text is known without running quadratic base-x on 64 KiB.
  const tail = Buffer.from('messagei+/')
  const big = { ...publish(1, 'a'), payload: Buffer.concat([Buffer.alloc(64 * 1024), tail]) }

  webhook.handle(big)
  webhook.handle(publish(2, 'a'))
  webhook.handle(publish(3, 'b'))
  await webhook.flush()

  assert.deepEqual(
    requests.map((r) => (JSON.parse(r.body) as { ts: number }).ts - 1706703724960),
    [3, 1, 2],
  )
  assert.equal(
    (JSON.parse(requests[1]?.body ?? '{}') as { payload: string }).payload,
    `${'0'.repeat(64 * 1024)}2a7oZkl5ty6sG7`,
  )
  assert.equal(webhook.stats().success, 3)
})

test('with no error listener and no logger, the first error is one process warning; all are counted', async (t) => {
  const webhook = webhookFor(t, { url: URL }, { send: recordingSend().send })
  const warnings: Error[] = []
  const onWarning = (warning: Error) => {
    if ((warning as Error & { code?: string }).code === 'MQTT_WEBHOOK_ERROR') warnings.push(warning)
  }
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))

  for (let n = 0; n < 3; n++) webhook.handle({ ...connack(), username: 1n } as unknown as HookEvent)
  await new Promise((resolve) => setImmediate(resolve))

  assert.equal(webhook.stats().errors, 3)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]?.message ?? '', /^mqtt-webhook: .*BigInt \(later errors are only counted/)
})
