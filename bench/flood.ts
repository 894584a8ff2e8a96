/**
 * The flood part of `npm run bench` (issue 15): NanoMQ's own flood, side by side. One client connects and
 * connects, then writes 20,000 QoS 0 publishes of 100 bytes on `a/b` in one write; `on_message_publish` with
 * topic `a/#`, pool 32, plain, to a counting receiver in another process. Events/s = events received over
 * the time from the write to the last arrival. Rounds alternate NanoMQ 0.25.3 (when its binary is there),
 * aedes + `attachAedes` one event per request, and the same batched.
 *
 * NanoMQ's binary: `MQTT_WEBHOOK_NANOMQ`, else `../shared/tools/nanomq-0.25.3/nanomq` from the repository.
 * It hard-codes `/tmp/nanomq_hook.ipc`, so only one may run on a machine: when another is running, its
 * rounds are skipped and the NanoMQ keys are `null`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, connect, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Aedes } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { attachAedes } from '../src/adapters/aedes/index.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { createWebhook } from '../src/webhook.ts'
import { accepts, freePort } from '../test/helpers/mosquitto.ts'
import { startChild } from './child.ts'
import type { BenchPart } from './part.ts'
import { upperMedian as median, round } from './stats.ts'

export const FLOOD = 20_000
const ROUNDS = Number(process.env.BENCH_FLOOD_ROUNDS ?? 3)
/** No new event for this long ends a round (NanoMQ loses events: the count never reaches FLOOD). */
const QUIET_MS = 2_000
export const BATCH = { max_events: 200, max_delay_ms: 5 }
const NANOMQ =
  process.env.MQTT_WEBHOOK_NANOMQ ??
  fileURLToPath(new URL('../../shared/tools/nanomq-0.25.3/nanomq', import.meta.url))

type Side = 'nanomq' | 'aedes' | 'aedes_batch'
interface Round {
  delivered: number
  perS: number
}

export async function run(): Promise<BenchPart> {
  const receiver = await startChild('counting-receiver.ts')
  const receiverPort = (receiver.first as { port: number }).port
  try {
    const nanomq = nanomqUnavailable()
    const sides: Side[] = nanomq === undefined ? ['nanomq', 'aedes', 'aedes_batch'] : ['aedes', 'aedes_batch']
    // BENCH_FLOOD_SIDES=nanomq,aedes,aedes_batch runs only some (the ratios need nanomq and the other).
    const only = process.env.BENCH_FLOOD_SIDES?.split(',')
    if (only !== undefined) sides.splice(0, sides.length, ...sides.filter((side) => only.includes(side)))
    const rounds = new Map<Side, Round[]>(sides.map((side) => [side, []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse()
      for (const side of order) rounds.get(side)?.push(await floodRound(side, receiverPort))
    }
    const perS = (side: Side) => median((rounds.get(side) ?? []).map((r) => r.perS))
    const delivered = (side: Side) => (rounds.get(side) ?? []).map((r) => r.delivered)
    const nanomqPerS = nanomq === undefined ? perS('nanomq') : null
    const share = Math.min(...delivered('aedes'), ...delivered('aedes_batch')) / FLOOD
    const rows: BenchPart['rows'] = [
      [
        `NanoMQ 0.25.3 (events/s, median of ${ROUNDS})`,
        nanomqPerS === null ? `not run: ${nanomq}` : nanomqPerS.toFixed(0),
      ],
      ['  NanoMQ delivered per round', nanomq === undefined ? delivered('nanomq').join(', ') : '-'],
      ['aedes + attachAedes, one event per request (events/s)', perS('aedes').toFixed(0)],
      ['  delivered per round', delivered('aedes').join(', ')],
      [
        `aedes + attachAedes, batch ${BATCH.max_events}/${BATCH.max_delay_ms} ms (events/s)`,
        perS('aedes_batch').toFixed(0),
      ],
      ['  delivered per round', delivered('aedes_batch').join(', ')],
      ['flood_ratio (target >= 2)', nanomqPerS === null ? 'null' : (perS('aedes') / nanomqPerS).toFixed(2)],
      [
        'flood_batch_ratio (target >= 20)',
        nanomqPerS === null ? 'null' : (perS('aedes_batch') / nanomqPerS).toFixed(2),
      ],
    ]
    return {
      rows,
      results: {
        flood_nanomq_events_per_s: nanomqPerS === null ? null : Math.round(nanomqPerS),
        flood_events_per_s: Math.round(perS('aedes')),
        flood_batch_events_per_s: Math.round(perS('aedes_batch')),
        flood_ratio: nanomqPerS === null ? null : round(perS('aedes') / nanomqPerS, 2),
        flood_batch_ratio: nanomqPerS === null ? null : round(perS('aedes_batch') / nanomqPerS, 2),
        flood_delivered_share: round(share, 2),
      },
    }
  } finally {
    receiver.stop()
  }
}

/** Why NanoMQ cannot run here, or `undefined` when it can. */
function nanomqUnavailable(): string | undefined {
  if (!existsSync(NANOMQ)) return `no binary at ${NANOMQ} (set MQTT_WEBHOOK_NANOMQ)`
  try {
    execFileSync('pgrep', ['-x', 'nanomq'], { stdio: 'ignore' })
    return 'another NanoMQ is running (it hard-codes /tmp/nanomq_hook.ipc)'
  } catch {
    return undefined
  }
}

async function floodRound(side: Side, receiverPort: number): Promise<Round> {
  const hookUrl = `http://127.0.0.1:${receiverPort}/hook`
  const broker =
    side === 'nanomq' ? await startNanomq(hookUrl) : await startAedes(hookUrl, side === 'aedes_batch')
  try {
    await get(receiverPort, '/stats')
    const socket = connect(broker.port, '127.0.0.1')
    // A broker may reset the connection once it has read the flood; the count is what matters.
    socket.on('error', () => {})
    await once(socket, 'connect')
    // aedes resets a connection whose publishes come before its CONNACK: both brokers get the flood
    // once connected, in one write.
    const connack = once(socket, 'data')
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        clientId: 'flood',
        protocolVersion: 4,
        keepalive: 60,
        clean: true,
      }),
    )
    await connack
    socket.resume()
    const started = Date.now()
    socket.write(floodBytes())
    await waitForEvents(receiverPort, FLOOD, 50, QUIET_MS)
    const stats = (await get(receiverPort, '/stats')) as { events: number; last: number }
    socket.destroy()
    return { delivered: stats.events, perS: (stats.events * 1000) / Math.max(1, stats.last - started) }
  } finally {
    await broker.stop()
  }
}

let flood: Buffer | undefined
function floodBytes(): Buffer {
  if (flood !== undefined) return flood
  const parts: Buffer[] = []
  const payload = Buffer.alloc(100, 0x61)
  for (let n = 0; n < FLOOD; n++)
    parts.push(
      mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload, qos: 0, retain: false, dup: false }),
    )
  flood = Buffer.concat(parts)
  return flood
}

interface Broker {
  port: number
  stop(): Promise<void>
}

async function startAedes(url: string, batched: boolean): Promise<Broker> {
  const broker = await Aedes.createBroker()
  const config: WebhookConfig = {
    url,
    pool_size: 32,
    events: [{ event: 'on_message_publish', topic: 'a/#' }],
    ...(batched ? { batch: BATCH } : {}),
  }
  const webhook = createWebhook(config)
  const detach = attachAedes(broker, webhook)
  const server: Server = createServer(broker.handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      if (process.env.BENCH_DEBUG) console.error(webhook.stats())
      detach()
      await webhook.close({ timeout_ms: 1000 })
      server.close()
      await new Promise<void>((resolve) => broker.close(() => resolve()))
    },
  }
}

async function startNanomq(url: string): Promise<Broker> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'flood-nanomq-'))
  const conf = join(dir, 'nanomq.conf')
  writeFileSync(
    conf,
    `listeners.tcp { bind = "127.0.0.1:${port}" }
webhook {
  url = "${url}"
  headers.content-type = "application/json"
  body.encoding = plain
  pool_size = 32
  events = [ { event = "on_message_publish", topic = "a/#" } ]
}
`,
  )
  const child: ChildProcess = spawn(NANOMQ, ['start', '--conf', conf], { stdio: 'ignore' })
  const deadline = Date.now() + 10_000
  for (;;) {
    if (await accepts(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('NanoMQ did not listen within 10 s')
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    port,
    async stop() {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Polls the counting receiver every `pollMs` until it has `expected` events, or until its count has not
 * moved for `quietMs` (a broker that loses events never gets there).
 */
export async function waitForEvents(
  receiverPort: number,
  expected: number,
  pollMs: number,
  quietMs: number,
): Promise<void> {
  let seen = -1
  let quietSince = Date.now()
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, pollMs))
    const { events } = (await get(receiverPort, '/peek')) as { events: number }
    if (events >= expected) return
    if (events !== seen) {
      seen = events
      quietSince = Date.now()
    } else if (Date.now() - quietSince > quietMs) return
  }
}

export async function get(port: number, path: string): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return response.json()
}
