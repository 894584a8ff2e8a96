/**
 * `rss_mb_endpoint_down`: 1,000,000 `on_message_publish` events (100-byte payloads) to a closed loopback
 * port with the default `max_queue`, in batches as a broker would hand them over. Prints the figures as JSON.
 */
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { createWebhook } from '../src/webhook.ts'

const EVENTS = 1_000_000
const BATCH = 10_000

const probe = createServer().listen(0, '127.0.0.1')
await once(probe, 'listening')
const { port } = probe.address() as { port: number }
probe.close()
await once(probe, 'close')

const webhook = createWebhook({
  url: `http://127.0.0.1:${port}/hook`,
  events: [{ event: 'on_message_publish' }],
})
const payload = Buffer.alloc(100, 0x61)
let peakRss = 0
const started = performance.now()
for (let sent = 0; sent < EVENTS; sent += BATCH) {
  for (let i = 0; i < BATCH; i++) {
    webhook.handle({
      event: 'on_message_publish',
      topic: 'bench/rss',
      qos: 0,
      retain: false,
      from_client_id: `client-${i % 100}`,
      from_username: 'bench',
      payload,
    })
  }
  if (sent % 100_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss)
  await yieldToLoop()
}
const memory = process.memoryUsage()
const rss = memory.rss
const stats = webhook.stats()
await webhook.close({ timeout_ms: 0 })
process.stdout.write(
  `${JSON.stringify({
    rss_mb: rss / 2 ** 20,
    heap_used_mb: memory.heapUsed / 2 ** 20,
    heap_total_mb: memory.heapTotal / 2 ** 20,
    peak_rss_mb: Math.max(peakRss, rss) / 2 ** 20,
    seconds: (performance.now() - started) / 1000,
    queued: stats.queued,
    dropped: stats.dropped,
    failed: stats.failed,
    matched: stats.matched,
  })}\n`,
)
