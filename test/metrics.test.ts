import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Registry } from 'prom-client'
import { createWebhook } from '../src/index.ts'
import { registerWebhookMetrics, WEBHOOK_METRICS } from '../src/metrics.ts'
import { parseExposition, sampleValue } from './helpers/prometheus.ts'
import { startReceiver } from './helpers/receiver.ts'

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
  assert.deepEqual(
    {
      connack: value('mqtt_webhook_events_matched_total', { event: 'on_client_connack' }),
      publish: value('mqtt_webhook_events_matched_total', { event: 'on_message_publish' }),
      delivered: value('mqtt_webhook_events_delivered_total'),
      failed: value('mqtt_webhook_events_failed_total'),
      retries: value('mqtt_webhook_retries_total'),
      queue_full: value('mqtt_webhook_events_dropped_total', { reason: 'queue_full' }),
      closed: value('mqtt_webhook_events_dropped_total', { reason: 'closed' }),
      queued: value('mqtt_webhook_queued_events'),
      inflight: value('mqtt_webhook_inflight_requests'),
      errors: value('mqtt_webhook_errors_total'),
    },
    {
      connack: 3,
      publish: 1,
      delivered: 3,
      failed: 1,
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

  // A second scrape reads the counters again, not added to the first.
  webhook.handle(connack('c4'))
  await webhook.flush()
  const again = parseExposition(await registry.metrics())
  assert.equal(sampleValue(again, 'mqtt_webhook_events_delivered_total'), 4)

  unregister()
  assert.equal(await registry.metrics(), '\n')
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
  assert.equal(sampleValue(families, 'mqtt_webhook_events_delivered_total'), 0)
  assert.equal(sampleValue(families, 'mqtt_webhook_audit_events_delivered_total'), 1)
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
