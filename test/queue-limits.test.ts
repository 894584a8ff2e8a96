/**
 * The queue's bounds hold at every instant a user can call `stats()`, in events and in bytes, on both
 * threads, from the first `handle()` (issue 11, items 1 and 2), whatever the delivery thread's state.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { test } from 'node:test'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import type { MessagePublishEvent } from '../src/events.ts'
import type { Webhook } from '../src/webhook-types.ts'
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

const MiB = 2 ** 20

function bigPublish(n: number, bytes: number): MessagePublishEvent {
  return { ...publish(n), payload: Buffer.alloc(bytes, 0x61 + (n % 26)) }
}

/** An endpoint that accepts connections and requests and never answers. */
async function blackHole(t: { after(fn: () => void): void }): Promise<string> {
  const server: Server = createServer(() => {})
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`
}

/** Asserts the bounds a user can see, now. */
function assertWithin(webhook: Webhook, maxQueue: number, maxQueueBytes: number): void {
  const { queued, queued_bytes } = webhook.stats()
  assert.ok(queued <= maxQueue, `queued ${queued} > max_queue ${maxQueue}`)
  assert.ok(queued_bytes <= maxQueueBytes, `queued_bytes ${queued_bytes} > max_queue_bytes ${maxQueueBytes}`)
}

test('a synchronous burst of 200,000 events: max_queue holds right after it, and memory with it', async (t) => {
  const port = await closedPort()
  const webhook = webhookFor(t, { url: `http://127.0.0.1:${port}/hook`, max_queue: 1000 })
  const event = bigPublish(0, 1000)
  const before = process.memoryUsage().rss
  for (let i = 0; i < 200_000; i++) webhook.handle(event)
  const after = webhook.stats()
  const grown = (process.memoryUsage().rss - before) / MiB

  assert.deepEqual(
    [after.matched, after.queued, after.dropped_by_reason.queue_full],
    [200_000, 1000, 199_000],
  )
  // 1,000 events of about 1 KB wait; before the fix the 200,000 did (over 200 MB).
  assert.ok(grown < 64, `RSS grew by ${grown.toFixed(0)} MB`)
  await sleep(500)
  assertWithin(webhook, 1000, Number.POSITIVE_INFINITY)
})

test('events handled before the delivery thread is ready: the oldest are dropped at once, the newest delivered', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 1, max_queue: 10 })
  const reports = collectReports(webhook)

  for (let n = 0; n < 50; n++) webhook.handle(publish(n))
  const at = webhook.stats()
  assert.deepEqual([at.queued, at.inflight, at.dropped, at.dropped_by_reason.queue_full], [10, 0, 40, 40])
  assert.deepEqual(
    reports.dropped.map((r) => [payloadText(r.event), r.attempts, r.reason]),
    Array.from({ length: 40 }, (_, n) => [`message ${n}`, 0, 'queue_full']),
  )
  await webhook.flush()
  assert.deepEqual(
    receiver.accepted.map((r) => r.body),
    Array.from({ length: 10 }, (_, n) => publishBody(40 + n)),
  )
  assert.deepEqual([webhook.stats().success, webhook.stats().dropped], [10, 40])
})

test('max_queue_bytes bounds 64 KiB events to a black-holed endpoint; the oldest are dropped as queue_bytes_full', async (t) => {
  const url = await blackHole(t)
  const budget = 2 * MiB
  const webhook = webhookFor(t, { url, max_queue_bytes: budget })
  const before = process.memoryUsage().rss
  let peak = before
  for (let turn = 0; turn < 40; turn++) {
    for (let i = 0; i < 100; i++) {
      webhook.handle(bigPublish(turn * 100 + i, 64 * 1024))
      assertWithin(webhook, 100_000, budget)
    }
    peak = Math.max(peak, process.memoryUsage().rss)
    await sleep(10)
  }
  await sleep(300)
  assertWithin(webhook, 100_000, budget)
  const stats = webhook.stats()
  // 4,000 events of 64 KiB (262 MB) went through; at most 2 MiB of them wait (31), the rest are in flight
  // (pool_size 32, never answered) or dropped, every one counted.
  assert.ok(stats.queued <= 31, JSON.stringify(stats))
  assert.equal(stats.inflight + stats.queued + stats.dropped_by_reason.queue_bytes_full, 4000)
  assert.ok(stats.dropped_by_reason.queue_bytes_full >= 4000 - 32 - 31, JSON.stringify(stats))
  const grown = (peak - before) / MiB
  // Generous: the budget, blocks the collector has not freed yet, the allocator's slack.
  assert.ok(grown < 64 * (budget / MiB), `RSS grew by ${grown.toFixed(0)} MB`)
})

test('base62 events the budget drops are never encoded: 64 KiB payloads to a black hole stay within the budget', async (t) => {
  const url = await blackHole(t)
  const budget = 2 * MiB
  const webhook = webhookFor(t, { url, max_queue_bytes: budget, body: { encoding: 'base62' } })
  // One payload for all: a copy per event (for the encoding worker) is what would grow.
  const payload = Buffer.alloc(64 * 1024, 0x7a)
  const before = process.memoryUsage().rss
  let peak = before
  for (let turn = 0; turn < 40; turn++) {
    for (let i = 0; i < 100; i++) {
      webhook.handle({ ...publish(turn * 100 + i), payload })
      assertWithin(webhook, 100_000, budget)
    }
    peak = Math.max(peak, process.memoryUsage().rss)
    await sleep(10)
  }
  await sleep(300)
  peak = Math.max(peak, process.memoryUsage().rss)
  const stats = webhook.stats()
  assert.equal(stats.inflight + stats.queued + stats.dropped_by_reason.queue_bytes_full, 4000)
  const grown = (peak - before) / MiB
  // 4,000 payloads of 64 KiB are 250 MiB: copied for the encoder, as before, RSS grew by more than that.
  assert.ok(grown < 64 * (budget / MiB), `RSS grew by ${grown.toFixed(0)} MB`)
})

test('close() settles base62 events still being encoded at its deadline: every one dropped closed when it resolves', async (t) => {
  const webhook = webhookFor(t, {
    url: `http://127.0.0.1:${await closedPort()}/`,
    body: { encoding: 'base62' },
  })
  for (let n = 0; n < 300; n++) webhook.handle(bigPublish(n, 64 * 1024))
  await webhook.close({ timeout_ms: 100 })
  const stats = webhook.stats()
  assert.equal(stats.queued, 0, JSON.stringify(stats))
  assert.equal(stats.success + stats.failed + stats.dropped, 300, JSON.stringify(stats))
})

test('an event bigger than max_queue_bytes alone is dropped at once and drops nothing else', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, max_queue_bytes: 4096 })
  const reports = collectReports(webhook)
  webhook.handle(publish(1))
  webhook.handle(bigPublish(2, 5000))
  webhook.handle(publish(3))
  assert.deepEqual(
    reports.dropped.map((r) => [payloadText(r.event).slice(0, 9), r.reason]),
    [['ccccccccc', 'queue_bytes_full']],
  )
  await webhook.flush()
  assert.deepEqual(
    receiver.accepted.map((r) => r.body),
    [publishBody(1), publishBody(3)],
  )
})

for (const ordering of ['none', 'per-client'] as const) {
  test(`retries take their room in the budget too (ordering ${ordering}): the bounds hold at every handle()`, async (t) => {
    const receiver = await startReceiver({ reply: (_request, index) => (index % 3 === 2 ? 200 : 503) })
    t.after(() => receiver.close())
    const maxQueue = 20
    const maxQueueBytes = 20 * 200
    const webhook = webhookFor(t, {
      url: receiver.url,
      pool_size: 4,
      ordering,
      max_queue: maxQueue,
      max_queue_bytes: maxQueueBytes,
      retry: { max_attempts: 4, base_delay: 5, max_delay: 20 },
    })
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 20; i++) {
        webhook.handle(publish(turn * 20 + i, `c${i % 5}`))
        assertWithin(webhook, maxQueue, maxQueueBytes)
      }
      await nextTurn()
      assertWithin(webhook, maxQueue, maxQueueBytes)
    }
    await webhook.flush()
    const stats = webhook.stats()
    assert.equal(stats.success + stats.failed + stats.dropped, stats.matched)
    assert.deepEqual([stats.matched, stats.queued, stats.queued_bytes, stats.inflight], [1000, 0, 0, 0])
    assert.ok(stats.dropped > 0 && stats.success > 0, JSON.stringify(stats))
  })
}

test('the delivery thread is started with the webhook: the first event arrives soon after handle()', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  // At the process's priority: a busy machine must not make this a test of SCHED_IDLE.
  const webhook = webhookFor(t, { url: receiver.url }, { deliveryPriority: 'normal' })
  // The broker starts, its first client connects a moment later (the thread loads meanwhile: from
  // source, through tsx, that took 3.5 s).
  await sleep(4000)
  const handled = Date.now()
  webhook.handle(publish(1))
  await receiver.waitForAccepted(1)
  const latency = Date.now() - handled
  // The target is 100 ms on an idle machine; generous here, on a shared one.
  assert.ok(latency < 1500, `first event after ${latency} ms`)
})

test("with options.send, delivery on the caller's thread keeps the same bounds", async (t) => {
  const pending: Array<() => void> = []
  const webhook = webhookFor(
    t,
    { url: 'http://127.0.0.1:9/hook', pool_size: 1, max_queue: 5, max_queue_bytes: 1000 },
    { send: () => new Promise((resolve) => pending.push(() => resolve({ status: 200 }))) },
  )
  const reports = collectReports(webhook)
  for (let n = 0; n < 20; n++) webhook.handle(publish(n))
  // The first is in flight at once; five wait; the fourteen between are dropped, oldest first.
  assert.deepEqual(
    [webhook.stats().inflight, webhook.stats().queued, webhook.stats().dropped_by_reason.queue_full],
    [1, 5, 14],
  )
  assert.deepEqual(
    reports.dropped.map((r) => payloadText(r.event)),
    Array.from({ length: 14 }, (_, n) => `message ${n + 1}`),
  )
  // A body of 200 bytes or so: five of them pass 1,000 bytes, so the sixth makes room in bytes.
  webhook.handle({ ...publish(20), payload: Buffer.alloc(400, 0x61) })
  assert.ok(webhook.stats().queued_bytes <= 1000)
  assert.equal(webhook.stats().dropped_by_reason.queue_bytes_full > 0, true)
  while (webhook.stats().inflight + webhook.stats().queued > 0) {
    pending.shift()?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const stats = webhook.stats()
  assert.equal(stats.success + stats.dropped, 21)
  await webhook.close({ timeout_ms: 0 })
  webhook.handle(publish(21))
  const closed = webhook.stats()
  assert.deepEqual([closed.queued, closed.queued_bytes, closed.dropped_by_reason.closed], [0, 0, 1])
})

test('events handed to the delivery thread and not started yet are taken back, oldest first, to make room', async (t) => {
  const receiver = await startReceiver({
    reply: (_request, index) => (index === 0 ? { status: 200, delayMs: 1500 } : 200),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 1, max_queue: 5 })
  const reports = collectReports(webhook)
  webhook.handle(publish(1))
  await waitFor(() => webhook.stats().inflight === 1, 'the first event in flight')
  for (let n = 2; n <= 6; n++) webhook.handle(publish(n))
  // Long enough for the hand-over (a message away), well within the first answer's delay.
  await sleep(300)
  for (let n = 7; n <= 9; n++) webhook.handle(publish(n))
  assert.deepEqual(
    reports.dropped.map((r) => [payloadText(r.event), r.reason]),
    [2, 3, 4].map((n) => [`message ${n}`, 'queue_full']),
  )
  assert.deepEqual([webhook.stats().queued, webhook.stats().dropped], [5, 3])
  await webhook.flush()
  assert.deepEqual(
    receiver.accepted.map((r) => r.body),
    [1, 5, 6, 7, 8, 9].map((n) => publishBody(n)),
  )
  assert.deepEqual([webhook.stats().success, webhook.stats().dropped, reports.dropped.length], [6, 3, 3])
})

for (const ordering of ['none', 'per-client'] as const) {
  test(`with batch, a batch back for a retry takes its room too (ordering ${ordering})`, async (t) => {
    const receiver = await startReceiver({ reply: (_request, index) => (index % 3 === 2 ? 200 : 503) })
    t.after(() => receiver.close())
    const webhook = webhookFor(t, {
      url: receiver.url,
      pool_size: 2,
      ordering,
      max_queue: 30,
      max_queue_bytes: 30 * 200,
      batch: { max_events: 5, max_delay_ms: 5 },
      retry: { max_attempts: 4, base_delay: 5, max_delay: 20 },
    })
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 20; i++) {
        webhook.handle(publish(turn * 20 + i, `c${i % 5}`))
        assertWithin(webhook, 30, 30 * 200)
      }
      await nextTurn()
    }
    await webhook.flush()
    const stats = webhook.stats()
    assert.equal(stats.success + stats.failed + stats.dropped, 1000)
    assert.deepEqual([stats.queued, stats.queued_bytes, stats.inflight], [0, 0, 0])
  })
}
