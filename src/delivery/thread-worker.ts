/**
 * The delivery thread: the dispatcher and the HTTP sender, away from the broker's event loop.
 *
 * It takes batches of jobs, delivers them exactly as the in-thread dispatcher would, keeps the shared
 * counters current, and sends reports back in batches, one per turn of its event loop.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { ResolvedConfig } from '../config-types.ts'
import type { DropReason } from '../webhook-types.ts'
import { Claims, QueueBudget } from './budget.ts'
import { DELIVERY_METRICS_CELLS, DeliveryMetrics } from './delivery-metrics.ts'
import { Dispatcher } from './dispatcher.ts'
import type { Body, DeliveryJob } from './job.ts'
import { formatRecord, isRecord } from './message-record.ts'
import { createSender } from './sender.ts'
import { applyDeliveryPriority, BROKER_BUSY, PriorityGovernor, threadId } from './thread-priority.ts'
import {
  COUNTER_COUNT,
  Counter,
  type DeliveryThreadData,
  DROP_REASONS,
  type FailedJob,
  type FromDeliveryThread,
  LOAD_STALE_MS,
  type ToDeliveryThread,
} from './thread-protocol.ts'

const port = parentPort
if (port === null) throw new Error('mqtt-webhook: thread-worker.ts runs as a worker thread only')
const data = workerData as DeliveryThreadData
const config = withBuffers(data.config)
const counters = new Float64Array(data.counters)

counters[Counter.thread] = Number(threadId() ?? 0)
counters[Counter.tickAt] = Date.now() // a thread starved before its first tick shows too

let delivered: number[] = []
let failed: FailedJob[] = []
let dropped: number[] = []
let reportScheduled = false

const sender = createSender(config, (id) => data.idPrefix + id.toString(36))
// Lowered once the sender has loaded axios and undici: loaded at SCHED_IDLE on a busy host, they held the
// first request back.
applyDeliveryPriority(data.priority)
const dispatcher = new Dispatcher({
  poolSize: config.poolSize,
  budget: new QueueBudget(new Int32Array(data.budget), config.maxQueue, config.maxQueueBytes),
  claims: new Claims(data.claims),
  ordered: config.ordering === 'per-client',
  cancelTimeout: config.cancelTimeout,
  retry: config.retry,
  batch: config.batch,
  send: sender.send,
  format: formatted,
  sensitive: data.sensitive,
  metrics: new DeliveryMetrics(
    new Float64Array(data.counters, COUNTER_COUNT * Float64Array.BYTES_PER_ELEMENT, DELIVERY_METRICS_CELLS),
  ),
  callbacks: {
    delivered(id, attempts, status) {
      delivered.push(id, attempts, status)
      scheduleReport()
    },
    failed(id, attempts, outcome) {
      failed.push({ id, attempts, outcome })
      scheduleReport()
    },
    dropped(id, attempts, reason: DropReason) {
      dropped.push(id, attempts, DROP_REASONS.indexOf(reason))
      scheduleReport()
    },
  },
})

const governor = new PriorityGovernor(data.priority, config.batch !== undefined, (thread) =>
  port.postMessage({ type: 'raise', thread } satisfies FromDeliveryThread),
)
let receivedAtTick = 0
const TICK_MS = 50

// Retries and attempts starting change the counters without any report: keep them fresh anyway; decide
// whether the thread keeps yielding the CPU; and let jobs the broker's thread took back free their memory
// even while no batch comes.
setInterval(() => {
  dispatcher.purgeRevoked()
  publishCounters()
  const now = Date.now()
  const busy = brokerBusy(now)
  const received = counters[Counter.received] ?? 0
  const working = (counters[Counter.inflight] ?? 0) > 0 || received !== receivedAtTick || held.length > 0
  receivedAtTick = received
  counters[Counter.tickAt] = now
  const wasRaised = governor.raised
  governor.tick(counters[Counter.queued] ?? 0, now, TICK_MS, busy, working, counters[Counter.raised] === 1)
  // Written on a change only: the broker's thread may raise this thread (StarvationGuard) between the read
  // above and here, and writing back the state read would undo it.
  if (governor.raised !== wasRaised) counters[Counter.raised] = governor.raised ? 1 : 0
  const oldest = held[0]
  if (oldest !== undefined && !governor.holds(busy, now - oldest.at)) takeHeld()
}, TICK_MS).unref()

/** The broker's thread's last measure of its load, if recent: it measures only while it hands jobs over. */
function brokerBusy(now: number): boolean {
  const fresh = now - (counters[Counter.brokerLoadAt] ?? 0) < LOAD_STALE_MS
  return fresh && (counters[Counter.brokerLoad] ?? 0) > BROKER_BUSY
}

port.on('message', (message: ToDeliveryThread) => {
  switch (message.type) {
    case 'jobs':
      holdOrTake(message)
      break
    case 'flush':
      takeHeld()
      void dispatcher.flush().then(() => reply({ type: 'flushed', seq: message.seq }))
      break
    case 'close':
      takeHeld()
      void dispatcher.close(message.timeoutMs).then(() => {
        sender.destroy()
        reply({ type: 'closed' })
      })
      break
  }
})

type JobsMessage = Extract<ToDeliveryThread, { type: 'jobs' }>

/**
 * Jobs held back, oldest first, with when they came (`Date.now()`), while the broker's thread takes in a
 * burst (`PriorityGovernor.holds`). They are taken all the same (the broker's thread goes on handing
 * over, and measuring its load as it does): held here, they stay the broker's to revoke, as in the queue.
 */
const held: Array<{ message: JobsMessage; at: number }> = []

function holdOrTake(message: JobsMessage): void {
  const now = Date.now()
  if (held.length === 0 && !governor.holds(brokerBusy(now), 0)) {
    takeJobs(message)
    return
  }
  held.push({ message, at: now })
  taken(message.ids.length)
}

/** Every held job goes to the queue, in order. */
function takeHeld(): void {
  for (const { message } of held.splice(0)) enqueueJobs(message)
}

function takeJobs(message: JobsMessage): void {
  enqueueJobs(message)
  taken(message.ids.length)
}

/** Bodies stay bytes, views of the batch's block: waiting in the queue they are no work for the garbage collector. */
function enqueueJobs(message: JobsMessage): void {
  dispatcher.enqueueAll(jobsOf(message))
}

function* jobsOf({ seq, ids, events, offsets, bytes, keys }: JobsMessage): Generator<DeliveryJob> {
  const block = Buffer.from(bytes)
  for (let i = 0; i < ids.length; i++) {
    const body = block.subarray(offsets[i], offsets[i + 1])
    const eventIndex = events[i] as number
    yield { id: ids[i] as number, eventIndex, body, key: keys?.[i] ?? '', seq: seq + i }
  }
}

function taken(count: number): void {
  counters[Counter.received] = (counters[Counter.received] ?? 0) + count
  publishCounters()
  port?.postMessage({ type: 'taken' } satisfies FromDeliveryThread)
}

/**
 * A message event came as its fields: its body is written when its attempt starts (a retry writes it
 * again, alike), as bytes: undici would copy a string into a Buffer anyway, and the string, kept by the
 * request until it ends, would double what an attempt in flight holds.
 */
function formatted(body: Body): Body {
  return typeof body === 'string' || !isRecord(body) ? body : Buffer.from(formatRecord(body, config.encoding))
}

function scheduleReport(): void {
  if (reportScheduled) return
  reportScheduled = true
  setImmediate(sendReports)
}

function sendReports(): void {
  reportScheduled = false
  if (delivered.length + failed.length + dropped.length === 0) return
  publishCounters()
  port?.postMessage({ type: 'reports', delivered, failed, dropped } satisfies FromDeliveryThread)
  delivered = []
  failed = []
  dropped = []
}

/** Reports always go before the answer they precede, so the broker's side has settled every job first. */
function reply(message: FromDeliveryThread): void {
  sendReports()
  publishCounters()
  port?.postMessage(message)
}

/** The outcomes are counted in place (`DeliveryMetrics`); these are the levels. */
function publishCounters(): void {
  const levels = dispatcher.levels()
  counters[Counter.queued] = levels.queued
  counters[Counter.inflight] = levels.inflight
  counters[Counter.pausedUntil] = levels.paused_until ?? 0
}

/** Structured cloning turns Buffers into plain Uint8Arrays; TLS options and HMAC keys want Buffers. */
function withBuffers(resolved: ResolvedConfig): ResolvedConfig {
  const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const tls = resolved.tls
  return {
    ...resolved,
    secrets: resolved.secrets.map(asBuffer),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ...tls,
            ...(tls.ca === undefined ? {} : { ca: asBuffer(tls.ca) }),
            ...(tls.cert === undefined ? {} : { cert: asBuffer(tls.cert) }),
            ...(tls.key === undefined ? {} : { key: asBuffer(tls.key) }),
          },
        }),
  }
}
