/**
 * Outcomes by event name (issue 14: "events matched/delivered/failed/retried/dropped by event name and
 * reason"): in `stats()` and in the Prometheus exposition, with every total equal to the sum of its labels.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { Registry } from 'prom-client'
import type { HookEvent } from '../src/events.ts'
import { createWebhook } from '../src/index.ts'
import { registerWebhookMetrics } from '../src/metrics.ts'
import type { WebhookStats } from '../src/webhook-types.ts'
import { parseExposition, sampleSum, sampleValue } from './helpers/prometheus.ts'
import { startReceiver } from './helpers/receiver.ts'

const connack = (clientid: string): HookEvent => ({
  event: 'on_client_connack',
  clientid,
  proto_ver: 4,
  keepalive: 60,
  conn_ack: 'success',
})
const publish = (topic: string): HookEvent => ({
  event: 'on_message_publish',
  topic,
  qos: 0,
  retain: false,
  payload: Buffer.from('x'),
  from_client_id: 'p',
})

const noFailures = { http_4xx: 0, http_5xx: 0, http_other: 0, timeout: 0, network: 0, tls: 0, other: 0 }
const noDrops = { queue_full: 0, queue_bytes_full: 0, closed: 0 }

async function serve(registry: Registry): Promise<{ url: string; close(): void }> {
  const server = createServer(async (_request, response) => {
    response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/metrics`, close: () => server.close() }
}

for (const thread of ['the delivery thread', "the caller's thread (options.send)"] as const)
  test(`on ${thread}: delivered, failed, retried and dropped are counted by event name and reason`, async (t) => {
    // Connacks are accepted; a publish on `bad` is refused (400), on `down` the endpoint fails twice (503).
    const status = (body: string) => (body.includes('"bad"') ? 400 : body.includes('"down"') ? 503 : 200)
    const receiver = await startReceiver({ reply: (request) => status(request.body) })
    t.after(() => receiver.close())
    const config = {
      url: receiver.url,
      events: [
        { event: 'on_client_connack' as const },
        { event: 'on_message_publish' as const },
        // Enabled, never handled: its counts are there, all zero.
        { event: 'on_client_disconnected' as const },
      ],
      retry: { max_attempts: 2, base_delay: 1, max_delay: 1 },
      max_queue: 5,
      pool_size: 1,
    }
    const send =
      thread === 'the delivery thread'
        ? undefined
        : async ({ body }: { body: string }) => ({ status: status(body) })
    const webhook = createWebhook(config, send === undefined ? {} : { send })
    t.after(() => webhook.close())
    const registry = new Registry()
    registerWebhookMetrics(webhook, { registry })
    const metrics = await serve(registry)
    t.after(() => metrics.close())

    for (const event of [connack('c1'), connack('c2'), publish('bad'), publish('down'), publish('ok')])
      webhook.handle(event)
    await webhook.flush()
    // Seven at once into a queue of five: the two oldest (connacks d1 and d2) make room.
    const onCaller = send !== undefined
    const droppedConnacks = 2
    for (const event of [connack('d1'), connack('d2'), connack('d3'), ...['1', '2', '3', '4'].map(publish)])
      webhook.handle(event)
    await webhook.flush()

    const stats = webhook.stats()
    assert.deepEqual(
      {
        delivered: stats.delivered_by_event,
        failed: stats.failed_by_event,
        retried: stats.retried_by_event,
        dropped: stats.dropped_by_event,
      },
      {
        delivered: {
          on_client_connack: 5 - droppedConnacks,
          on_message_publish: 5,
          on_client_disconnected: 0,
        },
        failed: {
          on_client_connack: noFailures,
          on_message_publish: { ...noFailures, http_4xx: 1, http_5xx: 1 },
          on_client_disconnected: noFailures,
        },
        retried: { on_client_connack: 0, on_message_publish: 1, on_client_disconnected: 0 },
        dropped: {
          on_client_connack: { ...noDrops, queue_full: droppedConnacks },
          on_message_publish: noDrops,
          on_client_disconnected: noDrops,
        },
      },
    )
    assert.deepEqual(
      [stats.success, stats.failed, stats.retried, stats.dropped, stats.dropped_by_reason.queue_full],
      [10 - droppedConnacks, 2, 1, droppedConnacks, droppedConnacks],
    )
    assert.deepEqual(stats.failed_by_reason, { ...noFailures, http_4xx: 1, http_5xx: 1 })
    if (!onCaller) assert.equal(receiver.requests.length, 8 + 1 + 2)

    const response = await fetch(metrics.url)
    assert.equal(response.status, 200)
    const families = parseExposition(await response.text())
    const value = (name: string, labels: Record<string, string>) =>
      sampleValue(families, `mqtt_webhook_${name}`, labels)
    const connacks = { event: 'on_client_connack' }
    const publishes = { event: 'on_message_publish' }
    assert.deepEqual(
      {
        deliveredConnack: value('events_delivered_total', connacks),
        deliveredPublish: value('events_delivered_total', publishes),
        deliveredDisconnected: value('events_delivered_total', { event: 'on_client_disconnected' }),
        failedPublish4xx: value('events_failed_total', { ...publishes, reason: 'http_4xx' }),
        failedPublish5xx: value('events_failed_total', { ...publishes, reason: 'http_5xx' }),
        failedConnack5xx: value('events_failed_total', { ...connacks, reason: 'http_5xx' }),
        retriedPublish: value('retries_total', publishes),
        retriedConnack: value('retries_total', connacks),
        droppedConnack: value('events_dropped_total', { ...connacks, reason: 'queue_full' }),
        droppedPublish: value('events_dropped_total', { ...publishes, reason: 'queue_full' }),
        matchedConnack: value('events_matched_total', connacks),
      },
      {
        deliveredConnack: 5 - droppedConnacks,
        deliveredPublish: 5,
        deliveredDisconnected: 0,
        failedPublish4xx: 1,
        failedPublish5xx: 1,
        failedConnack5xx: 0,
        retriedPublish: 1,
        retriedConnack: 0,
        droppedConnack: droppedConnacks,
        droppedPublish: 0,
        matchedConnack: 5,
      },
    )
    // Each metric's samples all carry the same labels, and add up to the stats() total.
    const totals: Array<[string, keyof WebhookStats, string[]]> = [
      ['events_delivered_total', 'success', ['event']],
      ['events_failed_total', 'failed', ['event', 'reason']],
      ['retries_total', 'retried', ['event']],
      ['events_dropped_total', 'dropped', ['event', 'reason']],
    ]
    for (const [name, field, labels] of totals) {
      const family = families.get(`mqtt_webhook_${name}`)
      assert.ok(family, name)
      for (const sample of family.samples) assert.deepEqual(Object.keys(sample.labels).sort(), labels, name)
      assert.equal(sampleSum(families, `mqtt_webhook_${name}`), stats[field], name)
    }
    // 3 events x 7 reasons, 3 x 3.
    assert.equal(families.get('mqtt_webhook_events_failed_total')?.samples.length, 21)
    assert.equal(families.get('mqtt_webhook_events_dropped_total')?.samples.length, 9)
  })

test('events dropped at close are counted under their own names', async (t) => {
  // An endpoint that never answers: everything is still waiting or in flight when close() gives up.
  const server = createServer(() => {}).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as AddressInfo
  const webhook = createWebhook({
    url: `http://127.0.0.1:${port}/`,
    events: [{ event: 'on_client_connack' }, { event: 'on_message_publish' }],
    pool_size: 1,
  })
  for (const event of [connack('a'), publish('t'), publish('u'), connack('b'), publish('v')])
    webhook.handle(event)
  await webhook.close({ timeout_ms: 300 })
  const stats = webhook.stats()
  assert.deepEqual(stats.dropped_by_event, {
    on_client_connack: { ...noDrops, closed: 2 },
    on_message_publish: { ...noDrops, closed: 3 },
  })
  assert.deepEqual([stats.dropped, stats.dropped_by_reason.closed, stats.success, stats.failed], [5, 5, 0, 0])
})
