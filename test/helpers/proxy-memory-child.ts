/**
 * A proxy in a process of its own, so that a test can read its memory without counting the clients and the
 * upstream that load it. Run with `fork` and `--expose-gc`; argv[2] is a JSON `ChildOptions`. It sends
 * `{ port }` once listening, and answers each `'measure'` message with a `ChildMemory`.
 */
import { PacketBudget } from '../../src/adapters/packets/budget.ts'
import { startProxy } from '../../src/proxy.ts'
import { quietLogger } from './proxy.ts'
import { recordingWebhook } from './recording-webhook.ts'

export interface ChildOptions {
  upstreamPort: number
  maxPacketSize?: number
  /** Bytes of a `PacketBudget` of the proxy's own; absent: the process-wide one. */
  packetBudget?: number
}

export interface ChildMemory {
  /** After a full garbage collection. */
  rss: number
  arrayBuffers: number
  /** The process's peak RSS so far, in bytes. */
  maxRss: number
  /** Bytes held by packets still arriving. */
  budgetUsed: number
  /** `code` of each error reported, in order. */
  errorCodes: string[]
  /** Payload sizes of the events handed to the webhook (which keeps them, as one listening to reports does). */
  payloadBytes: number[]
}

const options = JSON.parse(process.argv[2] as string) as ChildOptions
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')
const budget = options.packetBudget === undefined ? undefined : new PacketBudget(options.packetBudget)
const { processPacketBudget } = await import('../../src/adapters/packets/budget.ts')
const webhook = recordingWebhook()
const proxy = await startProxy({
  listen: { host: '127.0.0.1', port: 0 },
  upstream: { host: '127.0.0.1', port: options.upstreamPort },
  webhook,
  logger: quietLogger,
  maxPacketSize: options.maxPacketSize,
  packetBudget: budget,
})

process.on('message', (message) => {
  if (message === 'close') {
    void proxy.close().then(() => process.disconnect())
    return
  }
  gc()
  gc()
  const memory = process.memoryUsage()
  const reply: ChildMemory = {
    rss: memory.rss,
    arrayBuffers: memory.arrayBuffers,
    maxRss: process.resourceUsage().maxRSS * 1024,
    budgetUsed: (budget ?? processPacketBudget).used,
    errorCodes: webhook.errors.map((error) => String((error as { code?: unknown }).code)),
    payloadBytes: webhook.events.flatMap((event) => ('payload' in event ? [event.payload.length] : [])),
  }
  process.send?.(reply)
})
process.send?.({ port: proxy.address.port })
