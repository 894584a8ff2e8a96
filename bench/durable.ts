/**
 * The durable-queue part of `npm run bench` (issue 16): NanoMQ's flood (one client, CONNECT, then 20,000
 * QoS 0 publishes of 100 bytes on `a/b` in one write; `on_message_publish` on `a/#`, `pool_size` 32) through
 * aedes + `attachAedes`, timed until every event is delivered to a receiver in another process, with the
 * memory queue and with the SQLite store (`commit: 'batch'`, and `'event'` for the cost of the shorter
 * window), each per event and batched (`batch` 200 events / 5 ms). Alternating rounds, medians. The broker thread's CPU time (Linux `/proc`) over the same window
 * gives the store's cost per event there.
 */
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Aedes } from 'aedes'
import { attachAedes } from '../src/adapters/aedes/index.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { createWebhook } from '../src/webhook.ts'
import { startChild } from './child.ts'
import type { BenchPart } from './part.ts'
import { connectPublisher, publishPackets } from './raw-publisher.ts'
import { median, nullIfNaN, round } from './stats.ts'
import { mainThreadCpuUs } from './thread-cpu.ts'

const EVENTS = 20_000
const PAYLOAD_BYTES = 100
const ROUNDS = Number(process.env.BENCH_DURABLE_ROUNDS ?? 3)
const VARIANTS = ['memory', 'sqlite', 'sqlite-event', 'memory-batch', 'sqlite-batch'] as const
/** As in `bench/flood.ts`'s batched side. */
const BATCH = { max_events: 200, max_delay_ms: 5 }
type Variant = (typeof VARIANTS)[number]

interface Result {
  eventsPerS: number
  /** The broker (main) thread's CPU per event over the flood, in microseconds. */
  brokerUsPerEvent: number
  delivered: number
}

export async function run(): Promise<BenchPart> {
  const receiver = await startChild('receiver-process.ts')
  const receiverUrl = `http://127.0.0.1:${(receiver.first as { port: number }).port}/hook`
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-bench-durable-'))
  try {
    const results = new Map<Variant, Result[]>(VARIANTS.map((v) => [v, []]))
    for (let round = 0; round < ROUNDS; round++)
      for (const variant of VARIANTS)
        results.get(variant)?.push(await flood(variant, receiverUrl, join(dir, `${variant}-${round}.db`)))
    const rate = (v: Variant) => median((results.get(v) ?? []).map((r) => r.eventsPerS))
    const broker = (v: Variant) => median((results.get(v) ?? []).map((r) => r.brokerUsPerEvent))
    const allDelivered = [...results.values()].every((runs) => runs.every((r) => r.delivered === EVENTS))
    const ratio = rate('sqlite') / rate('memory')
    const batchRatio = rate('sqlite-batch') / rate('memory-batch')
    const writeUs = broker('sqlite') - broker('memory')
    const eventWriteUs = broker('sqlite-event') - broker('memory')
    return {
      rows: [
        [`flood, memory queue (events/s, median of ${ROUNDS})`, rate('memory').toFixed(0)],
        ['flood, sqlite store, commit batch (events/s)', rate('sqlite').toFixed(0)],
        ['durable flood ratio (target >= 0.5)', ratio.toFixed(3)],
        ['flood, sqlite store, commit event (events/s)', rate('sqlite-event').toFixed(0)],
        ['flood batched, memory queue (events/s)', rate('memory-batch').toFixed(0)],
        ['flood batched, sqlite store (events/s)', rate('sqlite-batch').toFixed(0)],
        ['durable flood batch ratio (target >= 0.8)', batchRatio.toFixed(3)],
        ['broker thread CPU per event, memory (us)', broker('memory').toFixed(2)],
        ['  added by the store, commit batch (us)', writeUs.toFixed(2)],
        ['  added by the store, commit event (us)', eventWriteUs.toFixed(2)],
        ['every event delivered', allDelivered ? 'yes' : `NO: ${JSON.stringify([...results])}`],
      ],
      results: {
        durable_flood_ratio: round(ratio, 3),
        durable_flood_batch_ratio: round(batchRatio, 3),
        durable_write_us_per_event: nullIfNaN(round(writeUs, 2)),
        durable_event_commit_write_us_per_event: nullIfNaN(round(eventWriteUs, 2)),
        durable_flood_event_commit_ratio: round(rate('sqlite-event') / rate('memory'), 3),
      },
    }
  } finally {
    receiver.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function flood(variant: Variant, url: string, path: string): Promise<Result> {
  const config: WebhookConfig = {
    url,
    pool_size: 32,
    events: [{ event: 'on_message_publish', topic: 'a/#' }],
    ...(variant.endsWith('batch') ? { batch: BATCH } : {}),
    ...(variant.startsWith('sqlite')
      ? { queue: { store: 'sqlite', path, commit: variant === 'sqlite-event' ? 'event' : 'batch' } }
      : {}),
  }
  const webhook = createWebhook(config)
  const broker = await Aedes.createBroker()
  const detach = attachAedes(broker, webhook)
  const server = createServer(broker.handle).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const publisher = await connectPublisher(port, 'bench-flood')
  try {
    // The delivery thread running and warm before the clock starts.
    await warmUp(publisher, webhook)
    const before = webhook.stats().success
    const cpuBefore = mainThreadCpuUs()
    const start = performance.now()
    publisher.write(publishPackets(EVENTS, 'a/b', PAYLOAD_BYTES))
    while (webhook.stats().success - before < EVENTS && performance.now() - start < 120_000)
      await new Promise((resolve) => setTimeout(resolve, 2))
    const seconds = (performance.now() - start) / 1000
    const cpuAfter = mainThreadCpuUs()
    return {
      eventsPerS: EVENTS / seconds,
      brokerUsPerEvent:
        cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : (cpuAfter - cpuBefore) / EVENTS,
      delivered: webhook.stats().success - before,
    }
  } finally {
    publisher.destroy()
    detach()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    server.close()
    await webhook.close({ timeout_ms: 5000 })
  }
}

async function warmUp(publisher: Socket, webhook: ReturnType<typeof createWebhook>): Promise<void> {
  publisher.write(publishPackets(1000, 'a/b', PAYLOAD_BYTES))
  while (webhook.stats().success < 1000) await new Promise((resolve) => setTimeout(resolve, 5))
  await webhook.flush()
}
