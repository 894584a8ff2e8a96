import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import {
  closedPort,
  collectReports,
  connack,
  publish,
  publishBody,
  waitFor,
  webhookFor,
} from './helpers/delivery.ts'
import { startReceiver } from './helpers/receiver.ts'

test('429 with Retry-After: 2 pauses every request to the endpoint, then all resume and deliver', async (t) => {
  const arrivals: number[] = []
  const receiver = await startReceiver({
    reply: (_request, index) => {
      arrivals.push(Date.now())
      return index === 0 ? { status: 429, headers: { 'retry-after': '2' } } : 200
    },
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, retry: { base_delay: 1, max_delay: 10_000 } })
  const reports = collectReports(webhook)

  webhook.handle(publish(0))
  await waitFor(() => webhook.stats().paused === true, 'the endpoint paused')
  const pausedUntil = webhook.stats().paused_until as number
  assert.ok(
    pausedUntil > Date.now() && pausedUntil <= (arrivals[0] as number) + 2000 + 500,
    `${pausedUntil} after ${arrivals[0]}`,
  )
  // New events keep coming during the pause: they wait, counted as queued.
  for (let n = 1; n <= 10; n++) {
    webhook.handle(publish(n))
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(receiver.requests.length, 1)
  assert.equal(webhook.stats().queued, 11)

  await webhook.flush()
  // Nothing reached the endpoint before the pause's end; then every event, the 429'd one again.
  assert.equal(arrivals.filter((at) => at < pausedUntil).length, 1)
  assert.equal(receiver.accepted.length, 11)
  assert.deepEqual(
    receiver.accepted.map((r) => r.body).sort(),
    Array.from({ length: 11 }, (_, n) => publishBody(n)).sort(),
  )
  assert.deepEqual(
    reports.delivered.find((r) => r.event.event === 'on_message_publish' && r.event.ts === publish(0).ts)
      ?.attempts,
    2,
  )
  assert.deepEqual([webhook.stats().paused, webhook.stats().paused_until], [false, null])
})

test('repeated 503s open the circuit: nothing is sent while it is open, then one probe alone closes it', async (t) => {
  // Plain node:http, to see how many requests are in flight at the endpoint when each arrives.
  let failing = true
  let inFlight = 0
  const seen: Array<{ at: number; inFlight: number; answer: number }> = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const answer = failing ? 503 : 200
      seen.push({ at: Date.now(), inFlight, answer })
      inFlight++
      // Success is slow: a second request beside the probe would arrive while it is in flight.
      setTimeout(
        () => {
          inFlight--
          res.writeHead(answer).end()
        },
        answer === 200 ? 200 : 0,
      )
    })
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const webhook = webhookFor(t, {
    url,
    pool_size: 4,
    retry: { max_attempts: 20, base_delay: 400, max_delay: 5_000 },
  })

  for (let n = 0; n < 8; n++) webhook.handle(publish(n))
  await waitFor(() => webhook.stats().paused === true, 'the circuit opened')
  const pausedUntil = webhook.stats().paused_until as number
  const failuresBefore = seen.length
  failing = false
  await webhook.flush()

  // At least five failures in a row opened it; during the pause nothing was sent.
  assert.ok(failuresBefore >= 5, `${failuresBefore} failures`)
  const afterPause = seen.filter((s) => s.at >= pausedUntil)
  assert.equal(seen.length - afterPause.length, failuresBefore)
  // The first request after the pause went alone, and answered 200 closed the circuit: the rest followed.
  const [probe, ...rest] = afterPause
  assert.deepEqual([probe?.answer, probe?.inFlight], [200, 0])
  assert.ok(rest.length > 0)
  for (const later of rest) assert.ok(later.at >= (probe?.at ?? 0) + 200, 'nothing beside the probe')
  assert.equal(webhook.stats().success, 8)
  assert.equal(webhook.stats().paused, false)
})

test('an endpoint not heard from gets one request: a burst at start meets 429 + Retry-After with nothing more', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 429, headers: { 'retry-after': '3600' } }) })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    pool_size: 32,
    events: [{ event: 'on_client_connack' }],
    retry: { max_delay: 3_600_000 },
  })

  // A burst while the delivery thread starts, then one event every 10 ms, as a broker's clients connect.
  for (let i = 0; i < 20; i++) webhook.handle(connack(`burst${i}`))
  await waitFor(() => webhook.stats().paused === true, 'the endpoint paused')
  for (let i = 0; i < 30; i++) {
    webhook.handle(connack(`later${i}`))
    await new Promise((resolve) => setTimeout(resolve, 10))
  }

  // Before: the twenty of the burst all went before the first answer came back.
  assert.equal(receiver.requests.length, 1)
  const stats = webhook.stats()
  assert.deepEqual([stats.queued, stats.inflight, stats.retried, stats.success], [50, 0, 1, 0])
  assert.ok((stats.paused_until as number) > Date.now() + 3_500_000, `${stats.paused_until}`)
})

test('503 + Retry-After on the first batch: nothing during the pause, then one batch alone, then the pool', async (t) => {
  const seen: Array<{ at: number; events: number; status: number }> = []
  const receiver = await startReceiver({
    reply: (request, index) => {
      const status = index === 0 ? 503 : 200
      seen.push({ at: Date.now(), events: (JSON.parse(request.body) as unknown[]).length, status })
      // Success is slow: a request beside the first after the pause would arrive while it is in flight.
      return index === 0 ? { status, headers: { 'retry-after': '1' } } : { status, delayMs: 200 }
    },
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, {
    url: receiver.url,
    pool_size: 32,
    batch: { max_events: 5, max_delay_ms: 20 },
    retry: { base_delay: 1, max_delay: 10_000 },
  })

  for (let n = 0; n < 50; n++) webhook.handle(publish(n))
  await waitFor(() => webhook.stats().paused === true, 'the endpoint paused')
  const pausedUntil = webhook.stats().paused_until as number
  await webhook.flush()

  const [refused, first, ...rest] = seen
  assert.deepEqual([refused?.status, refused?.events], [503, 5])
  // Nothing beside the first batch before the pause; nothing during it.
  assert.equal(seen.filter((s) => s.at < pausedUntil).length, 1)
  // After it, one batch alone until it was answered; then the pool opened.
  assert.ok(first !== undefined && first.at >= pausedUntil)
  assert.ok(rest.length > 1)
  for (const later of rest) assert.ok(later.at >= first.at + 200, 'nothing beside the first after the pause')
  assert.equal(receiver.accepted.length, seen.length - 1)
  assert.deepEqual(
    receiver.accepted
      .flatMap((r) => JSON.parse(r.body) as unknown[])
      .map((body) => JSON.stringify(body))
      .sort(),
    Array.from({ length: 50 }, (_, n) => publishBody(n)).sort(),
  )
  assert.equal(webhook.stats().success, 50)
})

test('a refused endpoint at start gets one request at a time: the circuit opens after five refusals, not a burst', async (t) => {
  const port = await closedPort()
  const webhook = webhookFor(t, {
    url: `http://127.0.0.1:${port}/hook`,
    pool_size: 32,
    retry: { max_attempts: 20, base_delay: 1000, max_delay: 5_000 },
  })

  for (let n = 0; n < 20; n++) webhook.handle(publish(n))
  await waitFor(() => webhook.stats().paused === true, 'the circuit opened')
  // Before: all twenty were refused at once, before the circuit could open.
  assert.equal(webhook.stats().retried, 5)

  const receiver = await startReceiver({ port })
  t.after(() => receiver.close())
  await webhook.flush()
  assert.deepEqual(
    receiver.accepted.map((r) => r.body).sort(),
    Array.from({ length: 20 }, (_, n) => publishBody(n)).sort(),
  )
  assert.equal(webhook.stats().success, 20)
})
