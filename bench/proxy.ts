/**
 * Proxy throughput (SPEC §8): QoS 0 messages/s from one publisher to one subscriber through mosquitto
 * directly, through the proxy with the webhook off, and through the proxy with `on_message_publish` posted
 * to a receiver in another process. The proxy runs in its own process too, as it would in production.
 * Medians of alternating runs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import mqttPacket from 'mqtt-packet'
import { startProxy } from '../src/proxy.ts'
import { createWebhook } from '../src/webhook.ts'
import { mosquittoMissing, startMosquitto } from '../test/helpers/mosquitto.ts'
import type { BenchPart } from './part.ts'
import { upperMedian as median } from './stats.ts'

const MESSAGES = 200_000
/** Alternating rounds; the median of each variant is reported. */
const ROUNDS = Number(process.env.BENCH_PROXY_ROUNDS ?? 3)
/** Most messages published and not yet received, so that no queue on the way overflows. */
const WINDOW = Number(process.env.BENCH_PROXY_WINDOW ?? 2_000)
const PAYLOAD = Buffer.alloc(64, 'x')

/**
 * `proxy_observe` fires `on_message_publish` into a webhook whose `send` answers at once: the cost of
 * observing, without the cost of HTTP, to tell the two apart.
 */
type Variant = 'direct' | 'proxy_off' | 'proxy_observe' | 'proxy_webhook'
const VARIANTS: readonly Variant[] = ['direct', 'proxy_off', 'proxy_observe', 'proxy_webhook']

export async function run(): Promise<BenchPart> {
  if (mosquittoMissing !== undefined) throw new Error(mosquittoMissing)
  const broker = await startMosquitto()
  const receiver = await startChild({ role: 'receiver' })
  const rates: Record<Variant, number[]> = { direct: [], proxy_off: [], proxy_observe: [], proxy_webhook: [] }
  const lost: Record<Variant, number> = { direct: 0, proxy_off: 0, proxy_observe: 0, proxy_webhook: 0 }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of VARIANTS) {
        const proxy =
          variant === 'direct'
            ? null
            : await startChild({
                role: 'proxy',
                upstreamPort: broker.port,
                webhookUrl: variant === 'proxy_off' ? null : `http://127.0.0.1:${receiver.port}/hook`,
                noHttp: variant === 'proxy_observe',
              })
        try {
          const port = proxy?.port ?? broker.port
          const result = await measure(port, `${variant}-${round}`)
          rates[variant].push(result.rate)
          lost[variant] += result.lost
        } finally {
          await proxy?.stop()
        }
      }
    }
  } finally {
    await receiver.stop()
    await broker.close()
  }
  const direct = median(rates.direct)
  const off = median(rates.proxy_off)
  const observe = median(rates.proxy_observe)
  const on = median(rates.proxy_webhook)
  const fmt = (rate: number) => `${Math.round(rate).toLocaleString('en')} msg/s`
  return {
    rows: [
      [`QoS 0, ${MESSAGES} x 64 B, 1 pub -> 1 sub (raw sockets), mosquitto direct`, fmt(direct)],
      ['  through the proxy, webhook off', `${fmt(off)} (${ratio(off, direct)})`],
      ['  through the proxy, on_message_publish, no HTTP', `${fmt(observe)} (${ratio(observe, direct)})`],
      ['  through the proxy, on_message_publish on', `${fmt(on)} (${ratio(on, direct)})`],
      ['  messages lost (QoS 0), all runs', VARIANTS.map((variant) => lost[variant]).join(' / ')],
    ],
    results: {
      proxy_ratio: round3(off / direct),
      proxy_observe_ratio: round3(observe / direct),
      proxy_webhook_ratio: round3(on / direct),
      proxy_direct_msgs_per_s: Math.round(direct),
      proxy_off_msgs_per_s: Math.round(off),
      proxy_webhook_msgs_per_s: Math.round(on),
    },
  }
}

/**
 * Publishes MESSAGES QoS 0 messages, at most WINDOW ahead of the subscriber, and times them from the first
 * publish to the last arrival. The clients are raw sockets writing pre-encoded packets and counting bytes,
 * so that the broker and the proxy are what is measured, not an MQTT client library.
 *
 * QoS 0 messages may be dropped on the way (mosquitto drops them when a subscriber falls behind): after
 * half a second without progress the missing ones are counted as lost.
 */
async function measure(port: number, name: string): Promise<{ rate: number; lost: number }> {
  const topic = `bench/${name}`
  const subscriber = await rawClient(port, `bench-sub-${name}`)
  const publisher = await rawClient(port, `bench-pub-${name}`)
  try {
    subscriber.socket.write(
      mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }),
    )
    await subscriber.bytes(5) // SUBACK
    const publish = mqttPacket.generate({
      cmd: 'publish',
      topic,
      payload: PAYLOAD,
      qos: 0,
      retain: false,
      dup: false,
    })
    const batch = Buffer.concat(Array.from({ length: WINDOW / 2 }, () => publish))
    let received = 0
    let lastArrival = 0
    let wake: (() => void) | undefined
    let wakeAt = 0
    subscriber.onBytes((total) => {
      received = Math.floor((total - 5) / publish.length)
      lastArrival = performance.now()
      if (wake !== undefined && received >= wakeAt) wake()
    })
    /** Resolves once `target` messages arrived, or after half a second without one. */
    const progress = (target: number) =>
      new Promise<void>((resolve) => {
        let seen = received
        const timer = setInterval(() => {
          if (received === seen) done()
          seen = received
        }, 500)
        function done() {
          clearInterval(timer)
          wake = undefined
          resolve()
        }
        wakeAt = target
        wake = done
        if (received >= target) done()
      })
    const started = performance.now()
    let sent = 0
    let lost = 0
    while (sent < MESSAGES) {
      while (sent < MESSAGES && sent - received - lost < WINDOW) {
        publisher.socket.write(batch)
        sent += WINDOW / 2
      }
      await progress(sent - lost - WINDOW / 2)
      // Stalled: what is still missing will not come.
      if (sent - received - lost >= WINDOW) lost = sent - received
    }
    await progress(MESSAGES - lost)
    lost = MESSAGES - received
    return { rate: received / ((lastArrival - started) / 1000), lost }
  } finally {
    subscriber.socket.destroy()
    publisher.socket.destroy()
  }
}

/** A TCP client that has sent CONNECT and read its CONNACK; counts the bytes it receives after that. */
async function rawClient(port: number, clientId: string) {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true })
  await once(socket, 'connect')
  let total = 0
  let listener: ((total: number) => void) | undefined
  const waiters: Array<[number, () => void]> = []
  socket.on('data', (chunk: Buffer) => {
    total += chunk.length
    listener?.(total)
    for (const [count, wake] of waiters.splice(0))
      if (total >= count) wake()
      else waiters.push([count, wake])
  })
  const bytes = (count: number) =>
    new Promise<void>((resolve) => (total >= count ? resolve() : waiters.push([count, resolve])))
  socket.write(
    mqttPacket.generate({ cmd: 'connect', clientId, protocolVersion: 4, keepalive: 60, clean: true }),
  )
  await bytes(4) // CONNACK
  total = 0
  return {
    socket,
    bytes,
    onBytes: (fn: (total: number) => void) => {
      listener = fn
    },
  }
}

interface ChildSpec {
  role: 'proxy' | 'receiver'
  upstreamPort?: number
  webhookUrl?: string | null
  /** Replace HTTP with a `send` that answers 200 at once. */
  noHttp?: boolean
}

/** Runs this file in another process in the given role; it prints the port it listens on. */
async function startChild(spec: ChildSpec): Promise<{ port: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, MQTT_WEBHOOK_BENCH_CHILD: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  const [line] = (await Promise.race([
    once(child.stdout as NodeJS.ReadableStream, 'data'),
    exited.then(() => {
      throw new Error(`bench ${spec.role} process exited early`)
    }),
  ])) as [Buffer]
  const port = Number(/PORT (\d+)/.exec(line.toString())?.[1])
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
    },
  }
}

async function runChild(spec: ChildSpec): Promise<void> {
  if (spec.role === 'receiver') {
    const { createServer } = await import('node:http')
    const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      req.resume()
      req.on('end', () => res.end())
    })
    server.listen(0, '127.0.0.1', () => {
      process.stdout.write(`PORT ${(server.address() as { port: number }).port}\n`)
    })
    process.once('SIGTERM', () => process.exit(0))
    return
  }
  const webhook = createWebhook(
    {
      url: spec.webhookUrl ?? 'http://127.0.0.1:9/unused',
      enable: spec.webhookUrl !== null,
      events: [{ event: 'on_message_publish' }],
    },
    spec.noHttp ? { send: async () => ({ status: 200 }) } : {},
  )
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: spec.upstreamPort ?? 1883 },
    webhook,
  })
  process.stdout.write(`PORT ${proxy.address.port}\n`)
  process.once('SIGTERM', async () => {
    await proxy.close()
    await webhook.close({ timeout_ms: 0 })
    process.exit(0)
  })
}

function ratio(value: number, base: number): string {
  return `${((value / base) * 100).toFixed(0)}% of direct`
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}

const childSpec = process.env.MQTT_WEBHOOK_BENCH_CHILD
if (childSpec !== undefined) await runChild(JSON.parse(childSpec) as ChildSpec)
