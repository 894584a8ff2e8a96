import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import type { HookEvent } from '../src/events.ts'
import type { FailedReport } from '../src/webhook-types.ts'
import {
  closedPort,
  collectReports,
  connack,
  disconnected,
  nextReport,
  publish,
  publishBody,
  webhookFor,
} from './helpers/delivery.ts'
import { startReceiver } from './helpers/receiver.ts'

test('a 200 endpoint receives the exact NanoMQ bodies, once each, with the configured headers', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: `${receiver.url}?source=test`,
    headers: { 'x-tenant': 't1', 'content-type': 'application/json' },
  })
  const reports = collectReports(webhook)

  webhook.handle(connack())
  webhook.handle(publish(1))
  webhook.handle(disconnected())
  await webhook.flush()

  assert.deepEqual(
    receiver.requests.map((r) => r.body).sort(),
    [
      '{"proto_ver":4,"keepalive":60,"conn_ack":"success","username":"u1","clientid":"c1","action":"client_connack"}',
      '{"reason":"normal","username":"u1","clientid":"c1","action":"client_disconnected"}',
      publishBody(1),
    ].sort(),
  )
  for (const request of receiver.requests) {
    assert.equal(request.method, 'POST')
    assert.equal(request.path, '/hook?source=test')
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers['x-tenant'], 't1')
    assert.match(String(request.headers['webhook-id']), /^msg_[A-Za-z0-9_-]+$/)
  }
  assert.equal(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size, 3)
  assert.deepEqual(
    reports.delivered.map((r) => [r.id, r.attempts, r.status]).sort(),
    receiver.requests.map((r) => [r.headers['webhook-id'], 1, 200]).sort(),
  )
  assert.deepEqual(reports.failed, [])
  assert.deepEqual(reports.dropped, [])
  const stats = webhook.stats()
  assert.deepEqual(
    {
      matched: stats.matched,
      success: stats.success,
      failed: stats.failed,
      queued: stats.queued,
      inflight: stats.inflight,
    },
    { matched: 3, success: 3, failed: 0, queued: 0, inflight: 0 },
  )
  assert.deepEqual(stats.events, {
    on_client_connack: { matched: 1 },
    on_client_disconnected: { matched: 1 },
    on_message_publish: { matched: 1 },
  })
})

test('reports carry their event for events handled while someone listened; the rest are only counted', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 400 }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url })

  webhook.handle(publish(1))
  const failed: Array<[number, HookEvent]> = []
  const listener = (report: FailedReport) => failed.push([report.attempts, report.event])
  webhook.on('failed', listener)
  webhook.handle(publish(2))
  await webhook.flush()
  webhook.off('failed', listener)
  webhook.handle(publish(3))
  await webhook.flush()

  assert.equal(receiver.requests.length, 3)
  assert.deepEqual(failed, [[1, publish(2)]])
  assert.equal(webhook.stats().failed, 3)
})

test('503 twice then 200: delivered once after 3 attempts, same webhook-id, freshly signed each time', async (t) => {
  const receiver = await startReceiver({ reply: (_request, index) => (index < 2 ? 503 : 200) })
  t.after(() => receiver.close())
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const webhook = webhookFor(t, { url: receiver.url, secret, retry: { base_delay: 1, max_delay: 10 } })
  const delivered = nextReport(webhook, 'delivered')

  webhook.handle(publish(7))
  const report = await delivered
  await webhook.flush()

  assert.equal(report.attempts, 3)
  assert.equal(report.status, 200)
  assert.equal(receiver.requests.length, 3)
  assert.equal(receiver.accepted.length, 1)
  const verifier = new StandardWebhook(secret)
  for (const request of receiver.requests) {
    assert.equal(request.headers['webhook-id'], report.id)
    assert.equal(request.body, publishBody(7))
    // Throws unless the signature matches this attempt's timestamp and body.
    verifier.verify(request.body, request.headers as Record<string, string>)
  }
  const stats = webhook.stats()
  assert.deepEqual([stats.success, stats.retried, stats.failed], [1, 2, 0])
})

test('400 fails at once: one attempt, status 400 in the report', async (t) => {
  const receiver = await startReceiver({ reply: () => 400 })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, retry: { base_delay: 1 } })
  const failed = nextReport(webhook, 'failed')

  webhook.handle(publish(1))
  const report = await failed

  assert.equal(report.attempts, 1)
  assert.equal(report.status, 400)
  assert.equal(report.code, undefined)
  assert.equal(report.message, `POST ${receiver.url} failed after 1 attempt: HTTP 400`)
  assert.deepEqual(report.event, publish(1))
  assert.equal(receiver.requests.length, 1)
  assert.deepEqual([webhook.stats().failed, webhook.stats().retried], [1, 0])
})

test('a redirect is not followed: 302 fails at once and the target sees nothing', async (t) => {
  const target = await startReceiver()
  t.after(() => target.close())
  const receiver = await startReceiver({ reply: () => ({ status: 302, headers: { location: target.url } }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url })
  const failed = nextReport(webhook, 'failed')

  webhook.handle(publish(1))
  const report = await failed

  assert.deepEqual([report.attempts, report.status], [1, 302])
  assert.equal(receiver.requests.length, 1)
  assert.equal(target.requests.length, 0)
})

test('a stalled response is cancelled at cancel_timeout, retried, then failed with ETIMEDOUT', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, hang: true }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    cancel_timeout: 150,
    retry: { max_attempts: 2, base_delay: 1 },
  })
  const failed = nextReport(webhook, 'failed')

  webhook.handle(publish(1))
  const report = await failed

  assert.equal(report.attempts, 2)
  assert.equal(report.code, 'ETIMEDOUT')
  assert.equal(report.status, undefined)
  assert.equal(
    report.message,
    `POST ${receiver.url} failed after 2 attempts: no complete response within 150 ms`,
  )
  assert.equal(receiver.requests.length, 2)
  assert.equal(receiver.requests[0]?.headers['webhook-id'], receiver.requests[1]?.headers['webhook-id'])
  assert.equal(webhook.stats().retried, 1)
})

test('the status decides: a 200 whose body drips forever is delivered once, not timed out and retried', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, dripMs: 20 }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, cancel_timeout: 1000, retry: { max_attempts: 3 } })
  const delivered = nextReport(webhook, 'delivered')

  webhook.handle(publish(1))
  const report = await delivered
  // Past the deadline the body is abandoned with its connection; nothing is sent again.
  await new Promise((resolve) => setTimeout(resolve, 1500))

  assert.deepEqual([report.attempts, report.status], [1, 200])
  assert.equal(receiver.requests.length, 1)
  assert.deepEqual([webhook.stats().success, webhook.stats().retried, webhook.stats().failed], [1, 0, 0])
})

test('a refused connection is retried, then failed with ECONNREFUSED', async (t) => {
  const port = await closedPort()
  const webhook = webhookFor(t, {
    url: `http://127.0.0.1:${port}/hook`,
    retry: { max_attempts: 3, base_delay: 1 },
  })
  const failed = nextReport(webhook, 'failed')

  webhook.handle(connack())
  const report = await failed

  assert.equal(report.attempts, 3)
  assert.equal(report.code, 'ECONNREFUSED')
  assert.equal(report.status, undefined)
  assert.match(report.message, /ECONNREFUSED/)
  assert.deepEqual(webhook.stats().retried, 2)
})

test('url credentials and header values never show in a failure', async (t) => {
  const port = await closedPort()
  const webhook = webhookFor(t, {
    url: `http://hookuser:s3cr3t-pw@127.0.0.1:${port}/hook`,
    headers: { authorization: 'Bearer tok-123456' },
    retry: { max_attempts: 1 },
  })
  const failed = nextReport(webhook, 'failed')

  webhook.handle(publish(1))
  const report = await failed

  assert.equal(report.code, 'ECONNREFUSED')
  assert.ok(
    report.message.startsWith(`POST http://***@127.0.0.1:${port}/hook failed after 1 attempt: `),
    report.message,
  )
  const text = JSON.stringify({ ...report, event: undefined })
  assert.doesNotMatch(text, /s3cr3t-pw|hookuser|tok-123456/)
})

test('keep-alive: 1,000 events reuse at most pool_size connections', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 4 })

  for (let n = 0; n < 1000; n++) webhook.handle(publish(n))
  await webhook.flush()

  assert.equal(receiver.accepted.length, 1000)
  assert.equal(webhook.stats().success, 1000)
  assert.ok(receiver.connections() <= 4, `${receiver.connections()} connections`)
  assert.deepEqual(
    receiver.requests.map((r) => r.body).sort(),
    Array.from({ length: 1000 }, (_, n) => publishBody(n)).sort(),
  )
})

test('pipelining: several requests on one connection, every event delivered once', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, delayMs: 5 }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 1, pipelining: 4 })

  for (let n = 0; n < 40; n++) webhook.handle(publish(n))
  await webhook.flush()

  assert.equal(receiver.connections(), 1)
  assert.deepEqual(
    receiver.accepted.map((r) => r.body).sort(),
    Array.from({ length: 40 }, (_, n) => publishBody(n)).sort(),
  )
  assert.deepEqual([webhook.stats().success, webhook.stats().retried], [40, 0])
})
