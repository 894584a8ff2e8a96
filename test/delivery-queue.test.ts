import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  closedPort,
  collectReports,
  payloadText,
  publish,
  publishBody,
  waitFor,
  webhookFor,
} from './helpers/delivery.ts'
import { startReceiver } from './helpers/receiver.ts'

test('queue overflow drops the oldest waiting events, counts them and reports each', async (t) => {
  // The first event holds the only slot; ten more arrive while max_queue is 5.
  const receiver = await startReceiver({
    reply: (_request, index) => (index === 0 ? { status: 200, delayMs: 200 } : 200),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 1, max_queue: 5 })
  const reports = collectReports(webhook)

  webhook.handle(publish(1))
  await waitFor(() => webhook.stats().inflight === 1, 'the first event in flight')
  // The bound holds at once, on the broker's thread: five wait, the oldest five are dropped already.
  for (let n = 2; n <= 11; n++) webhook.handle(publish(n))
  const during = webhook.stats()
  assert.deepEqual(during.dropped_by_reason, { queue_full: 5, queue_bytes_full: 0, closed: 0 })
  await webhook.flush()

  assert.deepEqual(
    reports.dropped.map((r) => [payloadText(r.event), r.attempts, r.reason]),
    [2, 3, 4, 5, 6].map((n) => [`message ${n}`, 0, 'queue_full']),
  )
  assert.deepEqual(
    receiver.accepted.map((r) => r.body),
    [1, 7, 8, 9, 10, 11].map((n) => publishBody(n)),
  )
  assert.deepEqual([during.queued, during.inflight], [5, 1])
  const stats = webhook.stats()
  assert.deepEqual(
    [stats.matched, stats.success, stats.dropped, stats.dropped_by_reason],
    [11, 6, 5, { queue_full: 5, queue_bytes_full: 0, closed: 0 }],
  )
})

test('an endpoint down for 2 s then back: nothing lost within max_queue', async (t) => {
  const port = await closedPort()
  const webhook = webhookFor(t, {
    url: `http://127.0.0.1:${port}/hook`,
    pool_size: 4,
    retry: { max_attempts: 100, base_delay: 50, max_delay: 200 },
  })
  const reports = collectReports(webhook)

  for (let n = 0; n < 50; n++) webhook.handle(publish(n))
  await waitFor(() => webhook.stats().retried >= 8, 'retries against the closed port')
  await sleep(2000)
  const receiver = await startReceiver({ port })
  t.after(() => receiver.close())
  await webhook.flush()

  assert.deepEqual(
    receiver.accepted.map((r) => r.body).sort(),
    Array.from({ length: 50 }, (_, n) => publishBody(n)).sort(),
  )
  assert.deepEqual([reports.failed.length, reports.dropped.length, webhook.stats().success], [0, 0, 50])
  assert.ok(webhook.stats().retried >= 8)
})

test('close() with work in flight: drains until the deadline, then every event is accounted for', async (t) => {
  // Events 0 and 1 hang, holding both slots; the rest wait behind them.
  const receiver = await startReceiver({
    reply: (_request, index) => (index < 2 ? { status: 200, hang: true } : 200),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 2 })
  const reports = collectReports(webhook)

  for (let n = 0; n < 10; n++) webhook.handle(publish(n))
  await waitFor(() => receiver.requests.length === 2, 'both slots in flight')
  const closing = webhook.close({ timeout_ms: 100 })
  webhook.handle(publish(10))
  await closing
  await webhook.close()

  assert.deepEqual(
    reports.dropped.map((r) => [payloadText(r.event), r.attempts, r.reason]),
    [
      ['message 10', 0, 'closed'],
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((n) => [`message ${n}`, 0, 'closed']),
      ['message 0', 1, 'closed'],
      ['message 1', 1, 'closed'],
    ],
  )
  const stats = webhook.stats()
  assert.equal(stats.success + stats.failed + stats.dropped, stats.matched)
  assert.deepEqual(
    [stats.matched, stats.dropped_by_reason.closed, stats.queued, stats.inflight],
    [11, 11, 0, 0],
  )
  assert.equal(receiver.requests.length, 2)
})

test('close() drains queued and in-flight work that finishes before the deadline', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, delayMs: 30 }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 2 })
  const reports = collectReports(webhook)

  for (let n = 0; n < 6; n++) webhook.handle(publish(n))
  await webhook.close({ timeout_ms: 10_000 })

  assert.equal(reports.delivered.length, 6)
  assert.deepEqual(reports.dropped, [])
  assert.deepEqual(
    receiver.accepted.map((r) => r.body).sort(),
    [0, 1, 2, 3, 4, 5].map((n) => publishBody(n)).sort(),
  )
  assert.deepEqual([webhook.stats().success, webhook.stats().queued, webhook.stats().inflight], [6, 0, 0])
})

test('close() drops events waiting for a retry at the deadline, with their attempt count', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 503, headers: { 'retry-after': '30' } }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, retry: { max_attempts: 5, max_delay: 60_000 } })
  const reports = collectReports(webhook)

  webhook.handle(publish(1))
  await waitFor(() => webhook.stats().retried === 1, 'the first 503')
  await webhook.close({ timeout_ms: 50 })

  assert.deepEqual(
    reports.dropped.map((r) => [payloadText(r.event), r.attempts, r.reason]),
    [['message 1', 1, 'closed']],
  )
  assert.deepEqual(reports.failed, [])
})
