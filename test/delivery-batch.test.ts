import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import type { HookEvent } from '../src/events.ts'
import type { WebhookRequest } from '../src/webhook-types.ts'
import {
  collectReports,
  connack,
  disconnected,
  publish,
  publishBody,
  webhookFor,
} from './helpers/delivery.ts'
import { startReceiver } from './helpers/receiver.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

test('a batch of N events arrives as one JSON array, in order, with one id and a verifiable signature', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    secret: SECRET,
    batch: { max_events: 5, max_delay_ms: 5_000 },
  })
  const reports = collectReports(webhook)

  for (let n = 0; n < 5; n++) webhook.handle(publish(n))
  await webhook.flush()

  assert.equal(receiver.requests.length, 1)
  const request = receiver.requests[0] as (typeof receiver.requests)[number]
  assert.equal(request.body, `[${Array.from({ length: 5 }, (_, n) => publishBody(n)).join(',')}]`)
  // Throws unless the signature covers this exact array, with this request's id and timestamp.
  new StandardWebhook(SECRET).verify(request.body, request.headers as Record<string, string>)
  assert.match(String(request.headers['webhook-id']), /^msg_/)
  // Stats and reports count events.
  assert.equal(reports.delivered.length, 5)
  assert.deepEqual(
    reports.delivered.map((r) => [r.event, r.attempts, r.status]),
    Array.from({ length: 5 }, (_, n) => [publish(n), 1, 200]),
  )
  assert.deepEqual([webhook.stats().success, webhook.stats().matched], [5, 5])
})

test('a retried batch is resent whole, with the same id and body, freshly signed', async (t) => {
  const receiver = await startReceiver({ reply: (_request, index) => (index === 0 ? 503 : 200) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    secret: SECRET,
    batch: { max_events: 3, max_delay_ms: 5_000 },
    retry: { base_delay: 1, max_delay: 5 },
  })
  const reports = collectReports(webhook)

  for (let n = 0; n < 3; n++) webhook.handle(publish(n))
  await webhook.flush()

  const [first, second] = receiver.requests
  assert.equal(receiver.requests.length, 2)
  assert.equal(first?.body, second?.body)
  assert.equal(first?.headers['webhook-id'], second?.headers['webhook-id'])
  const verifier = new StandardWebhook(SECRET)
  for (const request of receiver.requests)
    verifier.verify(request.body, request.headers as Record<string, string>)
  assert.deepEqual(
    reports.delivered.map((r) => r.attempts),
    [2, 2, 2],
  )
  // Each event of the batch was retried once.
  assert.deepEqual([webhook.stats().success, webhook.stats().retried], [3, 3])
})

test('max_events closes a batch at once; max_delay_ms closes a batch that does not fill', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, batch: { max_events: 3, max_delay_ms: 3_000 } })

  for (let n = 0; n < 7; n++) webhook.handle(publish(n))
  await receiver.waitForAccepted(2)
  // Two full batches went; the seventh event waits for company until max_delay_ms.
  assert.equal(receiver.requests.length, 2)
  assert.equal(webhook.stats().queued, 1)
  await receiver.waitForAccepted(3, 10_000)

  assert.deepEqual(
    receiver.accepted.map((r) => (JSON.parse(r.body) as unknown[]).length),
    [3, 3, 1],
  )
  assert.deepEqual(
    receiver.accepted.flatMap((r) => (JSON.parse(r.body) as Array<{ ts: number }>).map((b) => b.ts)),
    Array.from({ length: 7 }, (_, n) => publish(n).ts as number),
  )
})

test("per-client ordering holds with batches and random 503s: each client's events in order", async (t) => {
  let seed = 7
  const random = () => {
    seed = (seed * 48271) % 2147483647
    return seed / 2147483647
  }
  const receiver = await startReceiver({
    reply: () => ({ status: random() < 0.3 ? 503 : 200, delayMs: Math.floor(random() * 10) }),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    ordering: 'per-client',
    pool_size: 4,
    batch: { max_events: 4, max_delay_ms: 5 },
    retry: { max_attempts: 50, base_delay: 1, max_delay: 20 },
  })
  const clients = ['a', 'b', 'c']
  const expected = new Map<string, string[]>(clients.map((c) => [c, []]))
  for (let n = 0; n < 20; n++) {
    for (const client of clients) {
      const event: HookEvent =
        n === 0 ? connack(client) : n === 19 ? disconnected(client) : publish(n, client)
      expected.get(client)?.push(label(event))
      webhook.handle(event)
    }
    if (n % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 3))
  }
  await webhook.flush()

  assert.equal(webhook.stats().success, 60)
  assert.ok(webhook.stats().retried > 0, 'some 503s were retried')
  const arrived = new Map<string, string[]>(clients.map((c) => [c, []]))
  for (const request of receiver.accepted)
    for (const body of JSON.parse(request.body) as Array<Record<string, unknown>>)
      arrived.get(String(body.clientid ?? body.from_client_id))?.push(labelOfBody(body))
  for (const client of clients)
    assert.deepEqual(arrived.get(client), expected.get(client), `client ${client}`)
})

test('options.send gets the batch: the JSON array as its body, and every event in order', async (t) => {
  const requests: WebhookRequest[] = []
  const webhook = webhookFor(
    t,
    { url: 'http://127.0.0.1:9/hook', batch: { max_events: 2, max_delay_ms: 5_000 } },
    {
      send: async (request) => {
        requests.push(request)
        return { status: 200 }
      },
    },
  )
  webhook.handle(publish(1))
  webhook.handle(publish(2))
  await webhook.flush()

  assert.equal(requests.length, 1)
  assert.equal(requests[0]?.body, `[${publishBody(1)},${publishBody(2)}]`)
  assert.deepEqual(requests[0]?.events, [publish(1), publish(2)])
  assert.deepEqual(requests[0]?.event, publish(1))
})

test('a huge or endless 200 body is neither read whole nor a reason to retry', async (t) => {
  const mib = Buffer.alloc(1 << 20, 97)
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  // A raw server: 200 with a 256 MiB content-length, then the bytes as fast as the client takes them.
  const { createServer } = await import('node:http')
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-length': String(256 << 20) })
    let sent = 0
    const pump = () => {
      while (sent < 256) {
        sent++
        if (!res.write(mib)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as { port: number }
  const webhook = webhookFor(t, { url: `http://127.0.0.1:${port}/`, retry: { max_attempts: 3 } })
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  t.after(() => clearInterval(sampler))

  for (let n = 0; n < 8; n++) webhook.handle(publish(n))
  await webhook.flush()
  await new Promise((resolve) => setTimeout(resolve, 200))

  assert.deepEqual([webhook.stats().success, webhook.stats().retried, webhook.stats().failed], [8, 0, 0])
  // One body alone is 256 MiB; eight read whole took RSS past 1 GB.
  assert.ok(peak - before < 128 * 1024 * 1024, `RSS grew by ${Math.round((peak - before) / 1048576)} MiB`)
})

function label(event: HookEvent): string {
  return event.event === 'on_message_publish' ? `publish ${(event.ts ?? 0) - 1706703724960}` : event.event
}

function labelOfBody(body: Record<string, unknown>): string {
  return body.action === 'message_publish'
    ? `publish ${(body.ts as number) - 1706703724960}`
    : `on_${String(body.action)}`
}
