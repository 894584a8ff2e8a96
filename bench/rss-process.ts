/**
 * RSS with the endpoint down (a closed loopback port), at the default config (`max_queue`,
 * `max_queue_bytes`), in one of three shapes given as the first argument; prints the figures as JSON.
 *
 * - `paced` (`rss_mb_endpoint_down`): 1,000,000 `on_message_publish` events of 100 bytes, 10,000 per turn
 *   of the event loop, as a broker would hand them over.
 * - `64k` (`rss_mb_endpoint_down_64k`): 30,000 events of 64 KiB, 500 per turn (2 GB through the queue).
 * - `burst` (`rss_mb_burst`): 500,000 events of 1,000 bytes in one synchronous loop, RSS right after it
 *   and two seconds later (the larger is reported).
 * - `1m` (`rss_mb_endpoint_down_1m`): 400 events of 1 MiB of binary, 10 every 5 ms, to a black-holed endpoint (it
 *   accepts connections and requests and never answers, so attempts stay in flight): the peak RSS, over
 *   the run and one second after it. Bodies in flight count in `max_queue_bytes`; before they did, the
 *   pool's 32 attempts took RSS past 300 MB.
 *
 * A second argument sets `max_queue_bytes` (to choose its default).
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises'
import type { WebhookConfig } from '../src/config-types.ts'
import { createWebhook } from '../src/webhook.ts'

const SHAPES = {
  paced: { events: 1_000_000, perTurn: 10_000, payloadBytes: 100 },
  '64k': { events: 30_000, perTurn: 500, payloadBytes: 64 * 1024 },
  burst: { events: 500_000, perTurn: 500_000, payloadBytes: 1000 },
  '1m': { events: 400, perTurn: 10, payloadBytes: 2 ** 20 },
} as const

const shapeName = (process.argv[2] ?? 'paced') as keyof typeof SHAPES
const shape = SHAPES[shapeName]
if (shape === undefined) throw new Error(`unknown shape ${shapeName}: paced, 64k, burst or 1m`)

const probe = createServer().listen(0, '127.0.0.1')
await once(probe, 'listening')
const { port } = probe.address() as { port: number }
if (shapeName !== '1m') {
  probe.close()
  await once(probe, 'close')
}

const config: WebhookConfig = {
  url: `http://127.0.0.1:${port}/hook`,
  events: [{ event: 'on_message_publish' }],
}
if (process.argv[3] !== undefined) config.max_queue_bytes = Number(process.argv[3])
const webhook = createWebhook(config)
// The payload's bytes vary from event to event, as real ones do (and as a compressed page would not).
// Big ones are binary (images, firmware): not UTF-8, each byte past 0x7f is 3 in a plain body.
const payloads = Array.from({ length: 16 }, (_, n) =>
  shapeName === '1m' ? randomBytes(shape.payloadBytes) : Buffer.alloc(shape.payloadBytes, 0x61 + n),
)
let peakRss = 0
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}
const started = performance.now()
for (let sent = 0; sent < shape.events; sent += shape.perTurn) {
  for (let i = 0; i < shape.perTurn; i++) {
    webhook.handle({
      event: 'on_message_publish',
      topic: 'bench/rss',
      qos: 0,
      retain: false,
      from_client_id: `client-${i % 100}`,
      from_username: 'bench',
      payload: payloads[i % payloads.length] as Buffer,
    })
  }
  sampleRss()
  if (shapeName === '1m') await sleep(5)
  else await yieldToLoop()
}
const queuedAtEnd = webhook.stats().queued
if (shapeName === 'burst' || shapeName === '1m') {
  for (let waited = 0; waited < 2000; waited += 100) {
    await sleep(100)
    sampleRss()
  }
}
const memory = process.memoryUsage()
const rss = Math.max(memory.rss, shapeName === 'burst' || shapeName === '1m' ? peakRss : 0)
const stats = webhook.stats()
await webhook.close({ timeout_ms: 0 })
if (shapeName === '1m') probe.close()
process.stdout.write(
  `${JSON.stringify({
    shape: shapeName,
    rss_mb: rss / 2 ** 20,
    heap_used_mb: memory.heapUsed / 2 ** 20,
    heap_total_mb: memory.heapTotal / 2 ** 20,
    peak_rss_mb: Math.max(peakRss, memory.rss) / 2 ** 20,
    seconds: (performance.now() - started) / 1000,
    queued: queuedAtEnd,
    queued_bytes: stats.queued_bytes,
    inflight: stats.inflight,
    inflight_bytes: stats.inflight_bytes,
    dropped: stats.dropped,
    dropped_by_reason: stats.dropped_by_reason,
    failed: stats.failed,
    matched: stats.matched,
  })}\n`,
)
