/**
 * The sustained part of `npm run bench` (issue 15): aedes with `on_message_publish` and
 * `on_message_delivered` on every message, one publisher at a fixed rate, one subscriber; each message is
 * two events. A rate is carried when every event arrives, none is dropped, and p99 publish→arrival stays
 * under 1 s (past that the queue is growing). Rates climb a ladder until one is not carried; the highest
 * carried one is reported, per event and batched, with its p50/p99. `BENCH_SUSTAINED_S` sets each run's
 * length (default 30 s, as the issue asks; shorter runs say less about a queue that grows slowly).
 * `BENCH_SUSTAINED_BUSY=n` keeps n more threads of the process busy meanwhile (a host where other threads
 * want the cores too: delivery must not starve, issue 15).
 */
import { once } from 'node:events'
import { type AddressInfo, connect, createServer } from 'node:net'
import { Worker } from 'node:worker_threads'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { attachAedes } from '../src/adapters/aedes/index.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { createWebhook } from '../src/webhook.ts'
import { startChild } from './child.ts'
import { BATCH, get, waitForEvents } from './flood.ts'
import type { BenchPart } from './part.ts'

const SECONDS = Number(process.env.BENCH_SUSTAINED_S ?? 30)
/** Messages per second; events per second are twice as many. */
const LADDER = (process.env.BENCH_SUSTAINED_RATES ?? '1000,2000,3000,4500,6000,8000').split(',').map(Number)
const TICK_MS = 10
/** `BENCH_DELIVERY_PRIORITY=normal|idle` measures another delivery thread priority than the default. */
const PRIORITY = process.env.BENCH_DELIVERY_PRIORITY as 'idle' | 'normal' | undefined
const BUSY_THREADS = Number(process.env.BENCH_SUSTAINED_BUSY ?? 0)

interface RateRun {
  rate: number
  carried: boolean
  delivered: number
  expected: number
  p50: number
  p99: number
}

export async function run(): Promise<BenchPart> {
  const receiver = await startChild('counting-receiver.ts')
  const port = (receiver.first as { port: number }).port
  try {
    const single = await climb(port, false)
    const batched = await climb(port, true)
    const rows: BenchPart['rows'] = []
    for (const [label, runs] of [
      ['per event', single],
      ['batched', batched],
    ] as const)
      for (const r of runs)
        rows.push([
          `${label}: ${r.rate} msg/s for ${SECONDS} s (events delivered, p50/p99 ms)`,
          `${r.delivered}/${r.expected}, ${r.p50}/${r.p99}${r.carried ? '' : '  not carried'}`,
        ])
    const best = (runs: RateRun[]) => runs.filter((r) => r.carried).at(-1)
    return {
      rows,
      results: {
        sustained_events_per_s: best(single) === undefined ? 0 : 2 * (best(single) as RateRun).rate,
        sustained_batch_events_per_s: best(batched) === undefined ? 0 : 2 * (best(batched) as RateRun).rate,
        sustained_p99_ms: best(single)?.p99 ?? null,
        sustained_p50_ms: best(single)?.p50 ?? null,
        sustained_batch_p99_ms: best(batched)?.p99 ?? null,
      },
    }
  } finally {
    receiver.stop()
  }
}

async function climb(port: number, batched: boolean): Promise<RateRun[]> {
  const runs: RateRun[] = []
  for (const rate of LADDER) {
    const result = await runRate(port, rate, batched)
    runs.push(result)
    if (!result.carried) break
  }
  return runs
}

async function runRate(receiverPort: number, rate: number, batched: boolean): Promise<RateRun> {
  const broker = await Aedes.createBroker()
  const config: WebhookConfig = {
    url: `http://127.0.0.1:${receiverPort}/hook`,
    events: [{ event: 'on_message_publish' }, { event: 'on_message_delivered' }],
    ...(batched ? { batch: BATCH } : {}),
  }
  const webhook = createWebhook(config, { deliveryPriority: PRIORITY })
  const detach = attachAedes(broker, webhook)
  const server = createServer(broker.handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const brokerPort = (server.address() as AddressInfo).port
  const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, {
    clientId: 'sub',
    reconnectPeriod: 0,
  })
  await subscriber.subscribeAsync('bench/#', { qos: 0 })
  const publisher = connect(brokerPort, '127.0.0.1')
  publisher.on('error', () => {})
  await once(publisher, 'connect')
  const connack = once(publisher, 'data')
  publisher.write(
    mqttPacket.generate({ cmd: 'connect', clientId: 'pub', protocolVersion: 4, keepalive: 60, clean: true }),
  )
  await connack
  publisher.resume()
  const busy = Array.from({ length: BUSY_THREADS }, () => new Worker('for (;;);', { eval: true }))
  try {
    await get(receiverPort, '/stats')
    let sent = 0
    const started = Date.now()
    // Each tick publishes what the rate owes by now, so a late tick catches up rather than lowering the rate.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Date.now() - started
        const owed = Math.min(rate * SECONDS, Math.floor((rate * elapsed) / 1000)) - sent
        const packets: Buffer[] = []
        const payload = String(Date.now())
        for (let i = 0; i < owed; i++)
          packets.push(
            mqttPacket.generate({
              cmd: 'publish',
              topic: 'bench/s',
              payload,
              qos: 0,
              retain: false,
              dup: false,
            }),
          )
        sent += Math.max(0, owed)
        if (packets.length > 0) publisher.write(Buffer.concat(packets))
        if (sent >= rate * SECONDS) {
          clearInterval(timer)
          resolve()
        }
      }, TICK_MS)
    })
    const expected = 2 * sent
    await waitForEvents(receiverPort, expected, 100, 3000)
    const stats = (await get(receiverPort, '/stats')) as { events: number; latencies_ms: number[] }
    const latencies = stats.latencies_ms.sort((a, b) => a - b)
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
    const p99 = at(0.99)
    return {
      rate,
      carried: stats.events === expected && webhook.stats().dropped === 0 && p99 < 1000,
      delivered: stats.events,
      expected,
      p50: at(0.5),
      p99,
    }
  } finally {
    await Promise.all(busy.map((worker) => worker.terminate()))
    publisher.destroy()
    await subscriber.endAsync(true)
    detach()
    await webhook.close({ timeout_ms: 1000 })
    server.close()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
  }
}
