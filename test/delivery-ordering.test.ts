import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { HookEvent } from '../src/events.ts'
import { collectReports, connack, disconnected, publish, waitFor, webhookFor } from './helpers/delivery.ts'
import { type ReceivedRequest, startReceiver } from './helpers/receiver.ts'

/** connack, `count` publishes, disconnected: one client's life. */
function lifeOf(client: string, count: number): HookEvent[] {
  const events: HookEvent[] = [connack(client)]
  for (let n = 0; n < count; n++) events.push(publish(n, client))
  events.push(disconnected(client))
  return events
}

/** What the receiver accepted from `client`, as short labels. */
function acceptedFrom(accepted: ReceivedRequest[], client: string): string[] {
  return accepted
    .map((request) => JSON.parse(request.body) as Record<string, unknown>)
    .filter((body) => (body.clientid ?? body.from_client_id) === client)
    .map((body) =>
      body.action === 'message_publish'
        ? `publish ${(body.ts as number) - 1706703724960}`
        : String(body.action),
    )
}

function labels(events: HookEvent[]): string[] {
  return events.map((event) =>
    event.event === 'on_message_publish'
      ? `publish ${(event.ts ?? 0) - 1706703724960}`
      : event.event.replace(/^on_/, ''),
  )
}

test("per-client: each client's events arrive in order despite random delays and 503s", async (t) => {
  let seed = 42
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const receiver = await startReceiver({
    reply: () => (random() < 0.2 ? 503 : { status: 200, delayMs: Math.floor(random() * 15) }),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    ordering: 'per-client',
    pool_size: 8,
    retry: { max_attempts: 20, base_delay: 2, max_delay: 10 },
  })
  const reports = collectReports(webhook)
  const lives = { a: lifeOf('a', 15), b: lifeOf('b', 15), c: lifeOf('c', 15) }

  // Interleaved as a broker would see three clients at once.
  for (let i = 0; i < lives.a.length; i++)
    for (const life of Object.values(lives)) webhook.handle(life[i] as HookEvent)
  await webhook.flush()

  for (const [client, life] of Object.entries(lives))
    assert.deepEqual(acceptedFrom(receiver.accepted, client), labels(life), `client ${client}`)
  assert.equal(reports.delivered.length, 51)
  assert.ok(webhook.stats().retried > 0, 'some 503s were retried')
})

test('per-client: one client waiting for a retry holds back only its own later events', async (t) => {
  const receiver = await startReceiver({
    reply: (request) => {
      const body = JSON.parse(request.body) as Record<string, unknown>
      // No Retry-After: that would pause the whole endpoint, not one client.
      return body.clientid === 'slow' && body.action === 'client_connack' ? 503 : 200
    },
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    ordering: 'per-client',
    pool_size: 4,
    // A backoff drawn below 10 minutes: the retry comes within this test once in 200 runs.
    retry: { base_delay: 600_000, max_delay: 600_000 },
  })
  const reports = collectReports(webhook)
  const slow = lifeOf('slow', 3)
  const fast = lifeOf('fast', 3)

  for (let i = 0; i < slow.length; i++) {
    webhook.handle(slow[i] as HookEvent)
    webhook.handle(fast[i] as HookEvent)
  }
  await waitFor(
    () => reports.delivered.length === fast.length && webhook.stats().retried === 1,
    'the fast client delivered, the slow connack waiting for its retry',
  )

  assert.deepEqual(acceptedFrom(receiver.accepted, 'fast'), labels(fast))
  // Only the slow client's connack was tried; its publishes and disconnect wait behind it.
  const slowRequests = receiver.requests.filter((r) => r.body.includes('"slow"'))
  assert.equal(slowRequests.length, 1)
  assert.deepEqual([webhook.stats().queued, webhook.stats().inflight], [slow.length, 0])

  await webhook.close({ timeout_ms: 0 })
  assert.deepEqual(
    reports.dropped.map((r) => [labels([r.event])[0], r.attempts]),
    [
      ['publish 0', 0],
      ['publish 1', 0],
      ['publish 2', 0],
      ['client_disconnected', 0],
      ['client_connack', 1],
    ],
  )
})

test('per-client: events without a client share one key and keep their order', async (t) => {
  const receiver = await startReceiver({
    reply: (_request, index) => ({ status: 200, delayMs: (7 * index) % 11 }),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, ordering: 'per-client', pool_size: 8 })
  const events = Array.from({ length: 10 }, (_, n) => ({ ...publish(n), from_client_id: null }))

  for (const event of events) webhook.handle(event)
  await webhook.flush()

  assert.deepEqual(
    receiver.accepted.map((r) => (JSON.parse(r.body) as { ts: number }).ts - 1706703724960),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  )
})
