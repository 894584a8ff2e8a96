/**
 * Deadlines run on the caller's clock (issue 11, items 5 and 6): `close()` returns within its timeout and
 * a short grace whatever the delivery thread's state, and no delay overflows a Node timer.
 */
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { setLongTimeout } from '../src/delivery/timers.ts'
import { WebhookConfigError } from '../src/errors.ts'
import { closedPort, collectReports, connack, publish, waitFor, webhookFor } from './helpers/delivery.ts'
import { startReceiver } from './helpers/receiver.ts'

test('close({ timeout_ms }) returns in time while CPU-bound threads starve the delivery thread, and counts everything', async (t) => {
  // It answers the first request, so that the pool opens (an endpoint not heard from gets one request
  // at a time), then never again.
  const url = await answersOnlyTheFirst(t)
  const webhook = webhookFor(t, { url, events: [{ event: 'on_client_connack' }] })
  const reports = collectReports(webhook)
  webhook.handle(connack('first'))
  await waitFor(() => webhook.stats().success === 1, 'the first answer')
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 1000; i++) webhook.handle(connack(`c${i}`))
    await sleep(10)
  }
  await waitFor(() => webhook.stats().inflight === 32, 'the pool in flight')
  // More runnable threads than cores, at the process's priority: the delivery thread (SCHED_IDLE) waits.
  const busy = Array.from(
    { length: 4 },
    () => new Worker('const end = Date.now() + 30000; while (Date.now() < end);', { eval: true }),
  )
  t.after(() => Promise.all(busy.map((worker) => worker.terminate())))
  await sleep(300)

  const started = Date.now()
  await webhook.close({ timeout_ms: 500 })
  const took = Date.now() - started

  // Before: 5–37 s. The grace is 200 ms; the rest is room for a machine shared with the busy threads.
  assert.ok(took < 2500, `close took ${took} ms`)
  const stats = webhook.stats()
  assert.equal(stats.success + stats.failed + stats.dropped, 20_001)
  assert.deepEqual(
    [stats.success, stats.queued, stats.inflight, stats.dropped_by_reason.closed],
    [1, 0, 0, 20_000],
  )
  assert.equal(reports.dropped.length, 20_000)
  assert.ok(reports.dropped.every((r) => r.reason === 'closed'))
  // Later events are dropped too, and counted with the rest.
  webhook.handle(connack())
  const later = webhook.stats()
  assert.deepEqual(
    [later.matched, later.dropped_by_reason.closed, reports.dropped.length],
    [20_002, 20_001, 20_001],
  )
})

test('close({ timeout_ms: Infinity }) waits for the drain, as does a timeout past 2^31 - 1 ms', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, delayMs: 100 }) })
  t.after(() => receiver.close())
  for (const timeout of [Number.POSITIVE_INFINITY, 1e10]) {
    const webhook = webhookFor(t, {
      url: receiver.url,
      pool_size: 2,
      events: [{ event: 'on_client_connack' }],
    })
    for (let i = 0; i < 10; i++) webhook.handle(connack())
    await webhook.close({ timeout_ms: timeout })
    const stats = webhook.stats()
    assert.deepEqual([timeout, stats.success, stats.dropped], [timeout, 10, 0])
  }
})

test('cancel_timeout: 2147483647 lets an attempt take its time', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, delayMs: 300 }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    cancel_timeout: 2_147_483_647,
    retry: { max_attempts: 1 },
  })
  const reports = collectReports(webhook)
  webhook.handle(publish(1))
  await webhook.flush()
  assert.deepEqual([webhook.stats().success, reports.failed.map((r) => r.code)], [1, []])
})

test('close() refuses a timeout that is not a non-negative number, naming it', async (t) => {
  const webhook = webhookFor(t, { url: 'http://127.0.0.1:9/hook' })
  for (const bad of [-1, Number.NaN, '100' as unknown as number]) {
    await assert.rejects(
      webhook.close({ timeout_ms: bad }),
      (error: unknown) =>
        error instanceof WebhookConfigError &&
        /^timeout_ms: must be a non-negative number of ms, or Infinity/.test(error.message),
    )
  }
})

test('setLongTimeout waits past 2^31 - 1 ms in steps, and never for Infinity', async () => {
  let fired = 0
  const long = setLongTimeout(() => fired++, 2 ** 31 + 5)
  const never = setLongTimeout(() => fired++, Number.POSITIVE_INFINITY)
  const soon = setLongTimeout(() => fired++, 5)
  await sleep(50)
  assert.equal(fired, 1)
  long.clear()
  never.clear()
  soon.clear()
})

for (const where of ['the delivery thread', "the caller's thread (options.send)"] as const) {
  test(`a second close() with a shorter timeout cuts a pending first one short, on ${where}`, async (t) => {
    // The endpoint answers its first request, so the pool opens (an endpoint not heard from gets one request
    // at a time), then never again, as a black-holed one.
    const url = await answersOnlyTheFirst(t)
    let sends = 0
    const send = () => (sends++ === 0 ? Promise.resolve({ status: 200 }) : new Promise<never>(() => {}))
    const webhook = webhookFor(t, { url, pool_size: 2 }, where === 'the delivery thread' ? {} : { send })
    const reports = collectReports(webhook)
    for (let n = 0; n < 11; n++) webhook.handle(publish(n))
    await waitFor(() => webhook.stats().success === 1 && webhook.stats().inflight === 2, 'the pool in flight')

    const started = Date.now()
    let firstAt = 0
    const first = webhook.close({ timeout_ms: 30_000 }).then(() => {
      firstAt = Date.now() - started
    })
    await sleep(50)
    await webhook.close({ timeout_ms: 100 })
    const secondAt = Date.now() - started
    await first

    // Before: both waited for the first call's 30 s. Generous bounds, for a shared machine.
    assert.ok(secondAt < 10_000, `the second close() took ${secondAt} ms`)
    assert.ok(firstAt < 10_000, `the first close() took ${firstAt} ms`)
    const stats = webhook.stats()
    assert.deepEqual(
      [stats.queued, stats.inflight, stats.dropped_by_reason.closed, reports.dropped.length],
      [0, 0, 10, 10],
    )
  })
}

test('a second close() with a longer timeout does not stretch the first one', async (t) => {
  const port = await closedPort()
  const webhook = webhookFor(
    t,
    { url: `http://127.0.0.1:${port}/hook` },
    { send: () => new Promise(() => {}) },
  )
  for (let n = 0; n < 3; n++) webhook.handle(publish(n))
  const started = Date.now()
  const first = webhook.close({ timeout_ms: 100 })
  const second = webhook.close({ timeout_ms: 30_000 })
  await Promise.all([first, second])
  const took = Date.now() - started
  assert.ok(took < 10_000, `close took ${took} ms`)
  assert.deepEqual([webhook.stats().dropped_by_reason.closed, webhook.stats().inflight], [3, 0])
})

/** An endpoint that answers its first request, then none: a black hole once the pool has opened. */
async function answersOnlyTheFirst(t: TestContext): Promise<string> {
  const receiver = await startReceiver({
    reply: (_request, index) => (index === 0 ? 200 : { status: 200, hang: true }),
  })
  t.after(() => receiver.close())
  return receiver.url
}
