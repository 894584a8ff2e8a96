/**
 * The aedes part of `npm run bench` (SPEC §8): one publisher sends 50,000 QoS 0 messages of 100 bytes to
 * one subscriber through aedes, timed until the subscriber has them all; bare aedes against aedes with a
 * webhook on `on_message_publish` and `on_message_delivered` posting to a receiver in another process.
 * To tell where the time goes, more variants split the webhook's cost (`aedes-variants.ts`): the adapter
 * alone, serializing, handing bodies to a worker, the real `handle()` without HTTP. Variants run
 * alternately, a few rounds, and report medians. `BENCH_AEDES_PROFILE=dir` profiles each timed window.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { attachAedes } from '../src/adapters/aedes/index.ts'
import type { Webhook, WebhookStats } from '../src/webhook-types.ts'
import { startProfiler, timeHandle, type Variant, webhookFor } from './aedes-variants.ts'
import type { BenchPart } from './part.ts'
import { connectPublisher, publishPackets } from './raw-publisher.ts'
import { median, nullIfNaN, round } from './stats.ts'
import { mainThreadCpuUs } from './thread-cpu.ts'

const MESSAGES = 50_000
const PAYLOAD_BYTES = 100
const ROUNDS = Number(process.env.BENCH_AEDES_ROUNDS ?? 3)

interface RunResult {
  messagesPerS: number
  /** CPU time of this process per message, in microseconds (user + system). */
  cpuUsPerMessage: number
  /** Wall time per message, and the broker's (main) thread's CPU time per message where Linux tells it. */
  wallUsPerMessage: number
  brokerThreadUsPerMessage: number | undefined
  /** `handle` runs: time spent inside `handle()` calls, per event, in microseconds. */
  handleSyncUs?: number
  /** Webhook runs: what the end of the run showed once the queue was flushed. */
  check?: { matched: number; success: number; dropped: number; failed: number; received: number }
}

export async function run(): Promise<BenchPart> {
  const receiver = await startCountingReceiver()
  try {
    // BENCH_AEDES_VARIANTS=webhook runs one variant alone (for --cpu-prof); the report needs all four.
    const variants = (process.env.BENCH_AEDES_VARIANTS?.split(',') ?? [
      'bare',
      'adapter',
      'format',
      'post',
      'handle',
      'webhook',
    ]) as Variant[]
    const results = new Map<Variant, RunResult[]>(variants.map((v) => [v, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) results.get(variant)?.push(await runOnce(variant, receiver))
    }
    const rate = (v: Variant) => median((results.get(v) ?? []).map((r) => r.messagesPerS))
    const cpu = (v: Variant) => median((results.get(v) ?? []).map((r) => r.cpuUsPerMessage))
    const checks = (results.get('webhook') ?? []).map((r) => r.check)
    const expected = 2 * MESSAGES
    const allDelivered = checks.every(
      (c) =>
        c && c.matched === expected && c.success === expected && c.received === expected && c.dropped === 0,
    )
    const bare = rate('bare')
    // Per message the webhook has two events (publish, delivered): costs are per event.
    const perEventUs = (v: Variant) => (cpu(v) - cpu('bare')) / 2
    const ratio = rate('webhook') / bare
    const handleSyncUs = median((results.get('handle') ?? []).map((r) => r.handleSyncUs ?? Number.NaN))
    // The webhook's toll on the broker's thread, split: its own work there, and time it waited for a core
    // (the delivery thread and the receiver run on the same two cores). NaN where Linux cannot tell.
    const brokerUs = (v: Variant) =>
      median((results.get(v) ?? []).map((r) => r.brokerThreadUsPerMessage ?? Number.NaN))
    const waitUs = (v: Variant) =>
      median(
        (results.get(v) ?? []).map((r) => r.wallUsPerMessage - (r.brokerThreadUsPerMessage ?? Number.NaN)),
      )
    const brokerWorkUsPerEvent = (brokerUs('webhook') - brokerUs('bare')) / 2
    const brokerWaitUsPerMessage = waitUs('webhook') - waitUs('bare')
    return {
      rows: [
        [`bare aedes (msgs/s, median of ${ROUNDS})`, rate('bare').toFixed(0)],
        ['aedes + webhook, HTTP to another process (msgs/s)', rate('webhook').toFixed(0)],
        ['aedes ratio (target >= 0.85)', ratio.toFixed(3)],
        ['  adapter + no-op webhook (msgs/s)', rate('adapter').toFixed(0)],
        ['  adapter + body serialized only (msgs/s)', rate('format').toFixed(0)],
        ['  adapter + body serialized and posted to a worker (msgs/s)', rate('post').toFixed(0)],
        ['  adapter + handle(), send answering at once (msgs/s)', rate('handle').toFixed(0)],
        ['broker-process CPU per message, bare (us)', cpu('bare').toFixed(2)],
        ['  added per event: adapter (us)', perEventUs('adapter').toFixed(2)],
        ['  added per event: adapter + serialize (us)', perEventUs('format').toFixed(2)],
        ['  added per event: adapter + serialize + postMessage (us)', perEventUs('post').toFixed(2)],
        ['  added per event: adapter + handle() + queue, no HTTP (us)', perEventUs('handle').toFixed(2)],
        ['    of which inside handle() itself (us)', handleSyncUs.toFixed(2)],
        ['  added per event: adapter + handle() + HTTP (us)', perEventUs('webhook').toFixed(2)],
        ['broker thread alone: CPU per message, bare (us)', brokerUs('bare').toFixed(2)],
        ['  added per event by the webhook, on the broker thread (us)', brokerWorkUsPerEvent.toFixed(2)],
        ['  added wait for a core per message, webhook run (us)', brokerWaitUsPerMessage.toFixed(2)],
        ['every event delivered, none dropped', allDelivered ? 'yes' : `NO: ${JSON.stringify(checks)}`],
      ],
      results: {
        aedes_ratio: round(ratio, 3),
        aedes_bare_msgs_per_s: Math.round(bare),
        aedes_webhook_msgs_per_s: Math.round(rate('webhook')),
        aedes_adapter_only_ratio: round(rate('adapter') / bare, 3),
        aedes_format_only_ratio: round(rate('format') / bare, 3),
        aedes_post_to_worker_ratio: round(rate('post') / bare, 3),
        aedes_handle_no_http_ratio: round(rate('handle') / bare, 3),
        aedes_adapter_us_per_event: round(perEventUs('adapter'), 2),
        aedes_handle_us_per_event: round(perEventUs('handle') - perEventUs('adapter'), 2),
        aedes_handle_sync_us_per_event: round(handleSyncUs, 2),
        aedes_http_us_per_event: round(perEventUs('webhook') - perEventUs('handle'), 2),
        aedes_broker_thread_us_per_event: nullIfNaN(round(brokerWorkUsPerEvent, 2)),
        aedes_broker_wait_us_per_message: nullIfNaN(round(brokerWaitUsPerMessage, 2)),
        aedes_all_delivered: allDelivered ? 1 : 0,
      },
    }
  } finally {
    receiver.stop()
  }
}

async function runOnce(variant: Variant, receiver: CountingReceiver): Promise<RunResult> {
  const broker = await Aedes.createBroker()
  const server = createServer(broker.handle).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const webhook = webhookFor(variant, receiver.url, MESSAGES)
  const timed = variant === 'handle' && webhook ? timeHandle(webhook) : undefined
  const detach = webhook ? attachAedes(broker, timed?.webhook ?? webhook) : () => {}
  // Steady state, not start-up: the delivery thread is running (and, from source, has compiled its
  // modules) before the clock starts, as on a broker that has been up for a while.
  const before = variant === 'webhook' && webhook ? await warmUp(webhook) : undefined
  const receivedBefore = variant === 'webhook' ? await receiver.count() : 0
  const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: 'bench-sub',
    reconnectPeriod: 0,
  })
  const publisher = await connectPublisher(port, 'bench-pub')
  try {
    await subscriber.subscribeAsync('bench/#', { qos: 0 })
    const allReceived = countMessages(subscriber, MESSAGES)
    const profiler = await startProfiler()
    const cpuBefore = process.cpuUsage()
    const brokerBefore = mainThreadCpuUs()
    const start = performance.now()
    await writeAll(publisher, publishPackets(MESSAGES, 'bench/t', PAYLOAD_BYTES))
    await allReceived
    const seconds = (performance.now() - start) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    const brokerAfter = mainThreadCpuUs()
    await profiler?.stop(variant)
    const result: RunResult = {
      messagesPerS: MESSAGES / seconds,
      cpuUsPerMessage: (cpu.user + cpu.system) / MESSAGES,
      wallUsPerMessage: (seconds * 1e6) / MESSAGES,
      brokerThreadUsPerMessage:
        brokerBefore === undefined || brokerAfter === undefined
          ? undefined
          : (brokerAfter - brokerBefore) / MESSAGES,
    }
    if (timed) result.handleSyncUs = (timed.elapsedMs() * 1000) / (2 * MESSAGES)
    if (variant === 'webhook' && webhook) {
      await webhook.flush()
      const stats = webhook.stats()
      result.check = {
        matched: stats.matched - (before?.matched ?? 0),
        success: stats.success - (before?.success ?? 0),
        dropped: stats.dropped,
        failed: stats.failed,
        received: (await receiver.count()) - receivedBefore,
      }
    }
    return result
  } finally {
    publisher.destroy()
    await subscriber.endAsync(true)
    detach()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    server.close()
    await webhook?.close({ timeout_ms: 5000 })
  }
}

/** 2,000 events, as many as it takes the delivery thread's JIT to warm up (measured: 800 us per request cold, 180 warm). */
async function warmUp(webhook: Webhook): Promise<WebhookStats> {
  for (let n = 0; n < 2000; n++)
    webhook.handle({
      event: 'on_message_publish',
      topic: 'bench/warm-up',
      qos: 0,
      retain: false,
      from_client_id: null,
      payload: Buffer.alloc(PAYLOAD_BYTES, 'x'),
    })
  await webhook.flush()
  return webhook.stats()
}

async function writeAll(socket: Socket, bytes: Buffer): Promise<void> {
  const chunk = 64 * 1024
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    if (!socket.write(bytes.subarray(offset, offset + chunk))) await once(socket, 'drain')
  }
}

function countMessages(client: mqtt.MqttClient, count: number): Promise<void> {
  let received = 0
  return new Promise((resolve) => {
    client.on('message', () => {
      if (++received === count) resolve()
    })
  })
}

interface CountingReceiver {
  url: string
  /** Requests answered so far. */
  count(): Promise<number>
  stop(): void
}

/** A node:http receiver in a child process that answers 200 at once and counts what it got. */
async function startCountingReceiver(): Promise<CountingReceiver> {
  const script = `
    const http = require('node:http')
    let count = 0
    const server = http.createServer((req, res) => {
      if (req.method === 'GET') return res.end(String(count))
      req.resume()
      req.on('end', () => { count++; res.writeHead(200, { 'content-length': '0' }); res.end() })
    })
    server.keepAliveTimeout = 60000
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))
    process.stdin.on('end', () => process.exit(0))
    process.stdin.resume()
  `
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const port = Number(
    await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve)
      child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)))
    }),
  )
  const base = `http://127.0.0.1:${port}`
  return {
    url: `${base}/hook`,
    count: async () => Number(await (await fetch(`${base}/count`)).text()),
    stop() {
      lines.close()
      child.stdin?.end()
      child.kill()
    },
  }
}
