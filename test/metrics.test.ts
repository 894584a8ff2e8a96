import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { Registry } from 'prom-client'
import { failureReason, REQUEST_DURATION_BUCKETS } from '../src/delivery/delivery-metrics.ts'
import { createWebhook } from '../src/index.ts'
import { registerWebhookMetrics, WEBHOOK_METRICS } from '../src/metrics.ts'
import { parseExposition, sampleSum, sampleValue } from './helpers/prometheus.ts'
import { startReceiver } from './helpers/receiver.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const connack = (clientid: string) =>
  ({ event: 'on_client_connack', clientid, proto_ver: 4, keepalive: 60, conn_ack: 'success' }) as const
const publish = (topic: string) =>
  ({
    event: 'on_message_publish',
    topic,
    qos: 0,
    retain: false,
    payload: Buffer.from('x'),
    from_client_id: 'p',
  }) as const

test('every stats() counter is a metric, with Prometheus names, and the exposition parses strictly', async (t) => {
  // Client c2's event gets a 400 (fails at once); c3's a 503 then a 200 (one retry); the rest a 200.
  const receiver = await startReceiver({
    reply: (request) => {
      if (request.body.includes('"c2"')) return 400
      if (
        request.body.includes('"c3"') &&
        receiver.requests.filter((r) => r.body.includes('"c3"')).length === 1
      )
        return 503
      return 200
    },
  })
  t.after(() => receiver.close())
  const webhook = createWebhook({
    url: receiver.url,
    events: [{ event: 'on_client_connack' }, { event: 'on_message_publish', topic: 'a/#' }],
    retry: { max_attempts: 2, base_delay: 1, max_delay: 1 },
  })
  t.after(() => webhook.close())
  const registry = new Registry()
  const unregister = registerWebhookMetrics(webhook, { registry })
  for (const client of ['c1', 'c2', 'c3']) webhook.handle(connack(client))
  webhook.handle(publish('a/b'))
  webhook.handle(publish('other'))
  await webhook.flush()

  const families = parseExposition(await registry.metrics())
  const value = (name: string, labels?: Record<string, string>) => sampleValue(families, name, labels)
  const sum = (name: string, labels?: Record<string, string>) => sampleSum(families, name, labels)
  assert.deepEqual(
    {
      connack: value('mqtt_webhook_events_matched_total', { event: 'on_client_connack' }),
      publish: value('mqtt_webhook_events_matched_total', { event: 'on_message_publish' }),
      delivered: sum('mqtt_webhook_events_delivered_total'),
      failed_4xx: sum('mqtt_webhook_events_failed_total', { reason: 'http_4xx' }),
      failed_5xx: sum('mqtt_webhook_events_failed_total', { reason: 'http_5xx' }),
      attempts: value('mqtt_webhook_request_duration_seconds_count'),
      attempts_inf: value('mqtt_webhook_request_duration_seconds_bucket', { le: '+Inf' }),
      retries: sum('mqtt_webhook_retries_total'),
      queue_full: sum('mqtt_webhook_events_dropped_total', { reason: 'queue_full' }),
      closed: sum('mqtt_webhook_events_dropped_total', { reason: 'closed' }),
      queued: value('mqtt_webhook_queued_events'),
      inflight: value('mqtt_webhook_inflight_requests'),
      errors: value('mqtt_webhook_errors_total'),
    },
    {
      connack: 3,
      publish: 1,
      delivered: 3,
      failed_4xx: 1,
      failed_5xx: 0,
      // c1, c2, c3 twice, a/b: one observation per HTTP attempt.
      attempts: 5,
      attempts_inf: 5,
      retries: 1,
      queue_full: 0,
      closed: 0,
      queued: 0,
      inflight: 0,
      errors: 0,
    },
  )
  // Every metric whose stats field this webhook has is exposed, as declared; the others are not.
  const stats = webhook.stats()
  for (const spec of WEBHOOK_METRICS) {
    const family = families.get(`mqtt_webhook_${spec.name}`)
    if (spec.read(stats) === undefined) {
      assert.equal(family, undefined, `${spec.name} has no stats field here`)
      continue
    }
    assert.ok(family, `${spec.name} is exposed`)
    assert.equal(family.type, spec.type)
    assert.ok(family.help.length > 0)
  }
  assert.deepEqual(
    families
      .get('mqtt_webhook_request_duration_seconds')
      ?.samples.filter((sample) => sample.name.endsWith('_bucket'))
      .map((sample) => sample.labels.le),
    [...REQUEST_DURATION_BUCKETS.map(String), '+Inf'],
  )

  // A second scrape reads the counters again, not added to the first.
  webhook.handle(connack('c4'))
  await webhook.flush()
  const again = parseExposition(await registry.metrics())
  assert.equal(sampleSum(again, 'mqtt_webhook_events_delivered_total'), 4)

  unregister()
  assert.equal(await registry.metrics(), '\n')
})

/** Serves `registry` on /metrics over real HTTP, as the CLI does; resolves with its url. */
async function serveMetrics(registry: Registry): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (_request, response) => {
    response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** A loopback port nobody listens on: connecting to it is refused. */
async function refusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('request durations and failure reasons, through the delivery thread, scraped over HTTP', async (t) => {
  // ok1/ok2 200 at once, slow a 200 after 300 ms, bad a 400, down a 500 on both attempts, hang never
  // answers (cut at cancel_timeout, twice).
  const receiver = await startReceiver({
    reply: (request) => {
      const client = /"clientid":"(\w+)"/.exec(request.body)?.[1]
      if (client === 'slow') return { status: 200, delayMs: 300 }
      if (client === 'bad') return 400
      if (client === 'down') return 500
      if (client === 'hang') return { status: 200, hang: true }
      return 200
    },
  })
  t.after(() => receiver.close())
  const events = [{ event: 'on_client_connack' as const }]
  const retry = { max_attempts: 2, base_delay: 1, max_delay: 1 }
  const webhook = createWebhook({ url: receiver.url, events, retry, cancel_timeout: 500 })
  const refused = createWebhook({ url: `http://127.0.0.1:${await refusedPort()}/hook`, events, retry })
  t.after(() => Promise.all([webhook.close(), refused.close()]))
  const registry = new Registry()
  registerWebhookMetrics(webhook, { registry })
  registerWebhookMetrics(refused, { registry, prefix: 'mqtt_webhook_refused_' })
  const server = await serveMetrics(registry)
  t.after(() => server.close())

  for (const client of ['ok1', 'ok2', 'slow', 'bad', 'down', 'hang']) webhook.handle(connack(client))
  refused.handle(connack('r'))
  await Promise.all([webhook.flush(), refused.flush()])

  const stats = webhook.stats()
  assert.deepEqual(
    { success: stats.success, failed: stats.failed, retried: stats.retried, by: stats.failed_by_reason },
    {
      success: 3,
      failed: 3,
      retried: 2,
      by: { http_4xx: 1, http_5xx: 1, http_other: 0, timeout: 1, network: 0, tls: 0, other: 0 },
    },
  )
  const durations = stats.request_duration_seconds
  assert.ok(durations)
  // ok1, ok2, slow, bad: one attempt each; down and hang: two each.
  assert.equal(durations.count, 8)
  assert.deepEqual(durations.buckets, REQUEST_DURATION_BUCKETS)
  assert.equal(durations.counts.length, durations.buckets.length)
  assert.deepEqual(
    durations.counts,
    durations.counts.toSorted((a, b) => a - b),
    'cumulative',
  )
  // slow and both hang attempts cannot have taken 0.25 s or less; every attempt is cut at 0.5 s.
  assert.ok((durations.counts[REQUEST_DURATION_BUCKETS.indexOf(0.25)] as number) <= 8 - 3)
  assert.equal(durations.counts[REQUEST_DURATION_BUCKETS.indexOf(10)], 8)
  assert.ok(durations.sum >= 0.3 + 2 * 0.45, `sum ${durations.sum}`)

  const response = await fetch(server.url)
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const families = parseExposition(await response.text())
  const value = (name: string, labels?: Record<string, string>) => sampleValue(families, name, labels)
  assert.equal(families.get('mqtt_webhook_request_duration_seconds')?.type, 'histogram')
  assert.deepEqual(
    REQUEST_DURATION_BUCKETS.map((le) =>
      value('mqtt_webhook_request_duration_seconds_bucket', { le: String(le) }),
    ),
    durations.counts,
  )
  assert.deepEqual(
    {
      inf: value('mqtt_webhook_request_duration_seconds_bucket', { le: '+Inf' }),
      count: value('mqtt_webhook_request_duration_seconds_count'),
      sum: value('mqtt_webhook_request_duration_seconds_sum'),
      failed: Object.fromEntries(
        ['http_4xx', 'http_5xx', 'http_other', 'timeout', 'network', 'tls', 'other'].map((reason) => [
          reason,
          sampleSum(families, 'mqtt_webhook_events_failed_total', { reason }),
        ]),
      ),
      refused: sampleSum(families, 'mqtt_webhook_refused_events_failed_total', { reason: 'network' }),
      refusedOther: sampleSum(families, 'mqtt_webhook_refused_events_failed_total', { reason: 'other' }),
      refusedAttempts: value('mqtt_webhook_refused_request_duration_seconds_count'),
    },
    {
      inf: 8,
      count: 8,
      sum: durations.sum,
      failed: { http_4xx: 1, http_5xx: 1, http_other: 0, timeout: 1, network: 0, tls: 0, other: 0 },
      refused: 1,
      refusedOther: 0,
      refusedAttempts: 2,
    },
  )
})

test('a batch is one request: timed once, its events failed together under one reason', async (t) => {
  // The first request (a batch of 3) gets a 400; the second (a batch of 2) a 200.
  const receiver = await startReceiver({ reply: (_request, index) => (index === 0 ? 400 : 200) })
  t.after(() => receiver.close())
  const webhook = createWebhook({
    url: receiver.url,
    events: [{ event: 'on_client_connack' }],
    batch: { max_events: 3, max_delay_ms: 1000 },
  })
  t.after(() => webhook.close())
  for (const client of ['a', 'b', 'c']) webhook.handle(connack(client))
  await webhook.flush()
  for (const client of ['d', 'e']) webhook.handle(connack(client))
  await webhook.flush()
  const stats = webhook.stats()
  assert.equal(receiver.requests.length, 2)
  assert.deepEqual(
    {
      success: stats.success,
      failed: stats.failed,
      http_4xx: stats.failed_by_reason?.http_4xx,
      attempts: stats.request_duration_seconds?.count,
    },
    { success: 2, failed: 3, http_4xx: 3, attempts: 2 },
  )
})

test('an options.send that throws fails for its code, or as other without one', async (t) => {
  const errors = [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), new Error('no code')]
  const webhook = createWebhook(
    { url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }], retry: { max_attempts: 1 } },
    { send: async () => Promise.reject(errors.shift()) },
  )
  t.after(() => webhook.close())
  webhook.handle(connack('x'))
  webhook.handle(connack('y'))
  await webhook.flush()
  const stats = webhook.stats()
  assert.deepEqual(
    {
      network: stats.failed_by_reason?.network,
      other: stats.failed_by_reason?.other,
      attempts: stats.request_duration_seconds?.count,
    },
    { network: 1, other: 1, attempts: 2 },
  )
})

test('a Webhook whose stats lack the newer fields keeps its failed count, without reason or histogram', async () => {
  const webhook = recordingWebhook()
  const registry = new Registry()
  registerWebhookMetrics(webhook, { registry })
  const families = parseExposition(await registry.metrics())
  assert.equal(sampleValue(families, 'mqtt_webhook_events_failed_total'), 0)
  assert.equal(families.get('mqtt_webhook_request_duration_seconds'), undefined)
})

test('a failure reason is the status class, or the kind of error', () => {
  const reasons = (
    [
      [{ status: 400 }, 'http_4xx'],
      [{ status: 429 }, 'http_4xx'],
      [{ status: 503 }, 'http_5xx'],
      [{ status: 302 }, 'http_other'],
      [{ code: 'ETIMEDOUT' }, 'timeout'],
      [{ code: 'ECONNREFUSED' }, 'network'],
      [{ code: 'ECONNRESET' }, 'network'],
      [{ code: 'ENOTFOUND' }, 'network'],
      [{ code: 'UND_ERR_SOCKET' }, 'network'],
      [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'tls'],
      [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'tls'],
      [{ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }, 'tls'],
      [{ code: 'ERR_SERIALIZE' }, 'other'],
      [{ code: 'ERR_SEND' }, 'other'],
      [{}, 'other'],
    ] as const
  ).map(([outcome, reason]) => [failureReason({ kind: 'fail', ...outcome }), reason])
  for (const [got, want] of reasons) assert.equal(got, want)
})

test('a prefix lets two webhooks share a registry; the same name twice throws', async (t) => {
  const config = { url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' as const }] }
  const send = async () => ({ status: 200 })
  const first = createWebhook(config, { send })
  const second = createWebhook(config, { send })
  t.after(() => Promise.all([first.close(), second.close()]))
  const registry = new Registry()
  registerWebhookMetrics(first, { registry })
  registerWebhookMetrics(second, { registry, prefix: 'mqtt_webhook_audit_' })
  second.handle(connack('x'))
  await second.flush()
  const families = parseExposition(await registry.metrics())
  const connacks = { event: 'on_client_connack' }
  assert.equal(sampleValue(families, 'mqtt_webhook_events_delivered_total', connacks), 0)
  assert.equal(sampleValue(families, 'mqtt_webhook_audit_events_delivered_total', connacks), 1)
  // options.send runs on this thread, through the same dispatcher: its attempts are timed too.
  assert.equal(sampleValue(families, 'mqtt_webhook_audit_request_duration_seconds_count'), 1)
  assert.equal(sampleValue(families, 'mqtt_webhook_request_duration_seconds_count'), 0)
  assert.throws(() => registerWebhookMetrics(first, { registry }), /already been registered/)
  // What was registered before the clash is left as it was.
  assert.equal(parseExposition(await registry.metrics()).size, families.size)
})

test('the strict reader refuses what a scraper would', () => {
  assert.throws(() => parseExposition('x 1\n'), /no # TYPE/)
  assert.throws(() => parseExposition('# TYPE x_total counter\nx_total 1'), /line feed/)
  assert.throws(() => parseExposition('# TYPE x counter\n'), /_total/)
  assert.throws(() => parseExposition('# TYPE x gauge\nx{a="1",a="2"} 1\n'), /twice/)
  assert.throws(() => parseExposition('# TYPE x gauge\nx 1\nx 2\n'), /duplicate/)
  assert.throws(() => parseExposition('# TYPE x gauge\nx one\n'), /bad value/)
  assert.throws(() => parseExposition('# TYPE x gauge\nx{a=1} 1\n'), /bad labels/)
})

test('an endpoint that resets the connection under each request fails its events as network', async (t) => {
  const server = createServer((request) => request.socket.destroy())
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  const webhook = createWebhook({
    url: `http://127.0.0.1:${port}/hook`,
    events: [{ event: 'on_client_connack' }],
    retry: { max_attempts: 1 },
  })
  t.after(() => webhook.close())
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c1',
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
  })
  await webhook.flush()
  assert.deepEqual(webhook.stats().failed_by_reason, {
    http_4xx: 0,
    http_5xx: 0,
    http_other: 0,
    timeout: 0,
    network: 1,
    tls: 0,
    other: 0,
  })
})
