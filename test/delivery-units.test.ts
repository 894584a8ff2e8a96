import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffDelay, classifyResponse, parseRetryAfter } from '../src/delivery/retry.ts'
import { Ring } from '../src/delivery/ring.ts'
import { PerKeyScheduler, type Schedulable } from '../src/delivery/scheduler.ts'

test('statuses: 2xx succeeds, 408/429/5xx retry, everything else fails at once', () => {
  const kinds = [200, 204, 299, 301, 302, 304, 400, 401, 404, 408, 409, 429, 500, 502, 503, 599].map(
    (status) => [status, classifyResponse({ status }, 30_000).kind],
  )
  assert.deepEqual(kinds, [
    [200, 'success'],
    [204, 'success'],
    [299, 'success'],
    [301, 'fail'],
    [302, 'fail'],
    [304, 'fail'],
    [400, 'fail'],
    [401, 'fail'],
    [404, 'fail'],
    [408, 'retry'],
    [409, 'fail'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [599, 'retry'],
  ])
})

test('Retry-After: seconds or an HTTP date, capped at max_delay', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')
  assert.equal(parseRetryAfter('120', now), 120_000)
  assert.equal(parseRetryAfter(' 0 ', now), 0)
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now), 30_000)
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0)
  assert.equal(parseRetryAfter('soon', now), undefined)
  assert.equal(parseRetryAfter('-5', now), undefined)
  assert.equal(parseRetryAfter(undefined, now), undefined)
  const capped = classifyResponse({ status: 503, headers: { 'retry-after': '3600' } }, 30_000)
  assert.deepEqual(capped, { kind: 'retry', status: 503, message: 'HTTP 503', retryAfterMs: 30_000 })
})

test('backoff: full jitter within [0, min(max_delay, base_delay * 2^(attempt-1)))', () => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const bound = Math.min(1000, 10 * 2 ** (attempt - 1))
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(attempt, 10, 1000)
      assert.ok(delay >= 0 && delay < bound, `attempt ${attempt}: ${delay} not in [0, ${bound})`)
    }
  }
})

test('ring buffer: FIFO across growth and wrap-around', () => {
  const ring = new Ring<number>(4)
  const expected: number[] = []
  let next = 0
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < round % 7; i++) {
      ring.push(next)
      expected.push(next++)
    }
    for (let i = 0; i < round % 5; i++) assert.equal(ring.shift(), expected.shift())
    assert.equal(ring.length, expected.length)
    assert.equal(ring.peek(), expected[0])
  }
  while (expected.length > 0) assert.equal(ring.shift(), expected.shift())
  assert.equal(ring.shift(), undefined)
})

interface Job extends Schedulable {
  name: string
}

function job(key: string, name: string): Job {
  return { key, name, older: undefined, newer: undefined, laneNext: undefined }
}

test('per-key scheduler: one job per key at a time, in order; oldest-first drops across keys', () => {
  const scheduler = new PerKeyScheduler<Job>()
  for (const [key, name] of [
    ['a', 'a1'],
    ['b', 'b1'],
    ['a', 'a2'],
    ['c', 'c1'],
    ['a', 'a3'],
    ['b', 'b2'],
  ])
    scheduler.push(job(key as string, name as string))

  const a1 = scheduler.next()
  const b1 = scheduler.next()
  const c1 = scheduler.next()
  assert.deepEqual([a1?.name, b1?.name, c1?.name, scheduler.next()], ['a1', 'b1', 'c1', undefined])
  assert.equal(scheduler.size, 3)

  // The oldest waiting job is a2 (behind a1), then b2 comes after a3.
  assert.equal(scheduler.shiftOldest()?.name, 'a2')
  scheduler.release(a1 as Job)
  assert.equal(scheduler.next()?.name, 'a3')
  scheduler.release(b1 as Job)
  assert.equal(scheduler.next()?.name, 'b2')
  assert.deepEqual([scheduler.next(), scheduler.size, scheduler.shiftOldest()], [undefined, 0, undefined])
})
