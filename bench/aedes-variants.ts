/** The variants of the aedes benchmark: which webhook each run attaches, and how its cost is measured. */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { HookEvent, HookEventName } from '../src/events.ts'
import { serializeEvent } from '../src/format.ts'
import { createWebhook } from '../src/webhook.ts'
import type { Webhook, WebhookOptions } from '../src/webhook-types.ts'

export const BENCH_EVENTS: HookEventName[] = ['on_message_publish', 'on_message_delivered']

/**
 * `adapter`: a webhook that does nothing. `format`: it only serializes the body (what must stay on the
 * broker's thread if queue and sender moved elsewhere); `post`: and posts it to a worker that drops it (the
 * cost of handing over, one message per event). `handle`: the real `handle()`, `send` answering at once.
 */
export type Variant = 'bare' | 'adapter' | 'format' | 'post' | 'handle' | 'webhook'

export function webhookFor(variant: Variant, url: string, messages: number): Webhook | undefined {
  if (variant === 'bare') return undefined
  if (variant === 'adapter') return noopWebhook(() => {})
  if (variant === 'format') return noopWebhook(serialize)
  if (variant === 'post') {
    const worker = new Worker("require('node:worker_threads').parentPort.on('message', () => {})", {
      eval: true,
    })
    const webhook = noopWebhook((event) => {
      const body = serialize(event)
      if (typeof body === 'string') worker.postMessage(body)
    })
    webhook.close = async () => {
      await worker.terminate()
    }
    return webhook
  }
  // BENCH_DELIVERY_PRIORITY=idle|normal measures the broker's cost at another delivery thread priority.
  const priority = process.env.BENCH_DELIVERY_PRIORITY as WebhookOptions['deliveryPriority']
  const options: WebhookOptions =
    variant === 'handle'
      ? { send: async () => ({ status: 200 }) }
      : priority === undefined
        ? {}
        : { deliveryPriority: priority }
  // max_queue holds every event of the run, so that none may be dropped.
  return createWebhook(
    { url, events: BENCH_EVENTS.map((event) => ({ event })), max_queue: 2 * messages + 1000 },
    options,
  )
}

/**
 * With `BENCH_AEDES_PROFILE=dir`, a CPU profile of the timed window only (no start-up, no flush) is written
 * to `dir/aedes-<variant>-<n>.cpuprofile`, to see where the broker's thread spends its time.
 */
export async function startProfiler(): Promise<{ stop(variant: Variant): Promise<void> } | undefined> {
  const dir = process.env.BENCH_AEDES_PROFILE
  if (!dir) return undefined
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop(variant) {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      await writeFile(`${dir}/aedes-${variant}-${Date.now()}.cpuprofile`, JSON.stringify(profile))
    },
  }
}

/** The same webhook, with the time spent inside its `handle()` (synchronous: match, serialize, enqueue) summed. */
export function timeHandle(webhook: Webhook): { webhook: Webhook; elapsedMs(): number } {
  let elapsed = 0
  const timed: Webhook = Object.create(webhook)
  timed.handle = (event) => {
    const start = performance.now()
    webhook.handle(event)
    elapsed += performance.now() - start
  }
  timed.wants = (name) => webhook.wants(name)
  return { webhook: timed, elapsedMs: () => elapsed }
}

/** What `handle()` does to an event before it queues it. */
function serialize(event: HookEvent): string | Promise<string> {
  return serializeEvent({ ...event, ts: Date.now() } as HookEvent, 'plain')
}

/** Wants the two events and only runs `onEvent` on them: what the adapter (and that) costs. */
function noopWebhook(onEvent: (event: HookEvent) => void): Webhook {
  const wanted = new Set(BENCH_EVENTS)
  const webhook: Webhook = {
    handle: onEvent,
    stats: () => ({
      matched: 0,
      queued: 0,
      queued_bytes: 0,
      inflight: 0,
      success: 0,
      failed: 0,
      retried: 0,
      dropped: 0,
      dropped_by_reason: { queue_full: 0, queue_bytes_full: 0, closed: 0 },
      events: {},
    }),
    flush: async () => {},
    close: async () => {},
    replay: () => 0,
    on: () => webhook,
    once: () => webhook,
    off: () => webhook,
    reportError() {},
    wants: (name) => wanted.has(name),
  }
  return webhook
}
