/**
 * The transport part of `npm run bench` (issue 15): client CPU per request of each layer of the sender, at
 * the same concurrency, body and receiver (another process), in alternating rounds, medians:
 * - a bare undici `Pool.request` loop (the floor: what the transport needs),
 * - the undici adapter alone, given what axios would hand it,
 * - our sender (axios over the undici adapter, with the webhook's headers), called directly,
 * - axios over its own http adapter and a keep-alive agent (the sender before issue 15).
 * `transport_cpu_ratio` is our sender's CPU per request over the bare loop's.
 */
import { AxiosHeaders, type InternalAxiosRequestConfig } from 'axios'
import { resolveConfig } from '../src/config.ts'
import { createSender } from '../src/delivery/sender.ts'
import { createTransport } from '../src/delivery/transport.ts'
import { serializeEvent } from '../src/format.ts'
import { startChild } from './child.ts'
import type { BenchPart } from './part.ts'
import { concurrently, createAxiosPoster, createUndiciPoster } from './posters.ts'
import { upperMedian as median, round } from './stats.ts'

const CONCURRENCY = 32
const REQUESTS = 3_000
const ROUNDS = 3

type Loop = (url: string, body: string, count: number) => Promise<void>

export async function run(): Promise<BenchPart> {
  const receiver = await startChild('receiver-process.ts')
  try {
    const url = `http://127.0.0.1:${(receiver.first as { port: number }).port}/hook`
    const body = serializeEvent(
      {
        event: 'on_message_publish',
        ts: 1_706_703_724_960,
        topic: 'bench/sensors/temperature',
        qos: 1,
        retain: false,
        from_client_id: 'client-1',
        from_username: 'bench',
        payload: Buffer.alloc(100, 0x61),
      },
      'plain',
    ) as string
    const loops: Record<string, Loop> = {
      undici: undiciLoop,
      adapter: adapterLoop,
      sender: senderLoop,
      axiosHttp: axiosHttpLoop,
    }
    const cpu: Record<string, number[]> = { undici: [], adapter: [], sender: [], axiosHttp: [] }
    for (const loop of Object.values(loops)) await loop(url, body, 500)
    for (let round = 0; round < ROUNDS; round++) {
      const order = Object.keys(loops)
      if (round % 2 === 1) order.reverse()
      for (const name of order) cpu[name]?.push(await cpuPerRequest(loops[name] as Loop, url, body))
    }
    const undici = median(cpu.undici ?? [])
    const sender = median(cpu.sender ?? [])
    const adapter = median(cpu.adapter ?? [])
    const axiosHttp = median(cpu.axiosHttp ?? [])
    return {
      rows: [
        [`bare undici Pool.request, ${CONCURRENCY} in flight (CPU us/request)`, undici.toFixed(1)],
        ['the undici adapter alone, called as axios calls it (CPU us/request)', adapter.toFixed(1)],
        ['our sender: axios over the undici adapter (CPU us/request)', sender.toFixed(1)],
        ['axios over its http adapter, keep-alive agent (CPU us/request)', axiosHttp.toFixed(1)],
        ['transport_cpu_ratio (sender over bare undici)', (sender / undici).toFixed(2)],
      ],
      results: {
        transport_cpu_ratio: round(sender / undici, 2),
        transport_undici_cpu_us: round(undici, 2),
        transport_sender_cpu_us: round(sender, 2),
        transport_adapter_cpu_us: round(adapter, 2),
        transport_axios_http_cpu_us: round(axiosHttp, 2),
      },
    }
  } finally {
    receiver.stop()
  }
}

async function cpuPerRequest(loop: Loop, url: string, body: string): Promise<number> {
  const before = process.cpuUsage()
  await loop(url, body, REQUESTS)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / REQUESTS
}

const undiciLoop: Loop = async (url, body, count) => {
  const poster = createUndiciPoster(url, CONCURRENCY)
  await concurrently(count, CONCURRENCY, () => poster.post(body))
  await poster.close()
}

const senderLoop: Loop = async (url, body, count) => {
  const config = resolveConfig({ url, pool_size: CONCURRENCY, events: [{ event: 'on_message_publish' }] })
  const sender = createSender(config, (id) => `msg_${id}`)
  let id = 0
  await concurrently(count, CONCURRENCY, async () => {
    const response = await sender.send({ id: id++, body }, 1, new AbortController().signal)
    if (response.status !== 200) throw new Error(`receiver answered ${response.status}`)
  })
  sender.destroy()
}

/** The adapter with what axios would hand it, without axios: the layer between undici and axios. */
const adapterLoop: Loop = async (url, body, count) => {
  const config = resolveConfig({ url, pool_size: CONCURRENCY, events: [{ event: 'on_message_publish' }] })
  const transport = createTransport(config)
  await concurrently(count, CONCURRENCY, async () => {
    const request = {
      url,
      method: 'post',
      data: body,
      headers: AxiosHeaders.from({ 'content-type': 'application/json', 'webhook-id': 'msg_1' }),
      signal: new AbortController().signal,
    } as unknown as InternalAxiosRequestConfig
    const response = await transport.adapter(request)
    if (response.status !== 200) throw new Error(`receiver answered ${response.status}`)
  })
  transport.destroy()
}

const axiosHttpLoop: Loop = async (url, body, count) => {
  const poster = createAxiosPoster(CONCURRENCY)
  await concurrently(count, CONCURRENCY, () => poster.post(url, body))
  poster.destroy()
}
