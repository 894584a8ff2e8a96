/**
 * Delivery on a worker thread: the broker's side of it.
 *
 * On 2 cores an HTTP request costs the sending thread some 150 µs of CPU, ten times what a broker spends
 * routing a message: on the broker's own thread, webhooks would cut its throughput several times over.
 * So the dispatcher and the sender run on a thread of their own (`thread-worker.ts`) and the broker's
 * thread only hands over bodies (message events: their fields, `message-record.ts`), in one message per
 * turn of its event loop.
 *
 * This side also keeps the queue's bounds without waiting for the delivery thread (`budget.ts`): it
 * reserves room for each event, takes back handed-over events to make room (`handed-over.ts`), and at
 * close() settles on its own clock what a starved thread has not. Longer than most files here, since those
 * three share the state of the hand-over and split, each would reach into the others'.
 */
import { performance } from 'node:perf_hooks'
import type { Worker } from 'node:worker_threads'
import type { ResolvedConfig } from '../config-types.ts'
import { HOOK_EVENT_NAMES } from '../events.ts'
import { serializeEvent } from '../format.ts'
import type { DeliveryPriority, DropReason } from '../webhook-types.ts'
import { startSiblingWorker } from '../worker-thread.ts'
import { Claims, QueueBudget } from './budget.ts'
import {
  DELIVERY_METRICS_CELLS,
  type DeliveryCounts,
  DeliveryMetrics,
  eventIndex,
} from './delivery-metrics.ts'
import { HandedOver } from './handed-over.ts'
import {
  type Body,
  bodyBytes,
  bytesOf,
  type Delivery,
  type DeliveryJob,
  type DispatcherCallbacks,
  type DispatcherStats,
} from './job.ts'
import { type MessageHookEvent, recordBound } from './message-record.ts'
import { Outbox } from './outbox.ts'
import type { AttemptOutcome } from './retry.ts'
import { BrokerLoadSampler, raiseThreadPolicy, StarvationGuard } from './thread-priority.ts'
import {
  COUNTER_COUNT,
  Counter,
  type DeliveryThreadData,
  DROP_REASONS,
  type FromDeliveryThread,
  type ToDeliveryThread,
} from './thread-protocol.ts'
import { Deadline } from './timers.ts'

/**
 * How long past its `timeout_ms` `close()` waits for the delivery thread's own account of what it
 * delivered; then it settles the rest itself, as `closed`, and leaves the thread to be terminated.
 */
export const CLOSE_GRACE_MS = 200
/** Claim slots beyond `max_queue`: jobs in flight, retrying, or held behind their client's. */
const CLAIM_SLACK = 8192
/** The most claim slots (4 bytes each, touched only as used). */
const MAX_CLAIM_SLOTS = 2 ** 22

export interface DeliveryThreadOptions {
  config: ResolvedConfig
  /** The `webhook-id` of job `n` is this prefix followed by `n` in base 36. */
  idPrefix: string
  /** Strings that must never appear in a failure message. */
  sensitive: readonly string[]
  priority: DeliveryPriority
  callbacks: DispatcherCallbacks & {
    /** The thread died: every job it held is counted failed here; the front reports them. */
    lost(error: Error): void
    /** close() gave up on the thread: every job not reported yet is counted dropped (`closed`); the front reports them. */
    abandoned(): void
  }
}

export class DeliveryThread implements Delivery {
  readonly #options: DeliveryThreadOptions
  readonly #ordered: boolean
  readonly #counters: Float64Array
  /** `max_queue` and `max_queue_bytes`, over the jobs waiting on both threads. */
  readonly #budget: QueueBudget
  readonly #claims: Claims
  readonly #handedOver: HandedOver
  #worker: Worker | undefined
  /** Jobs taken and not yet reported; the worker keeps the process alive only while there are some. */
  #outstanding = 0
  /** Jobs handed over since the start; the delivery thread counts those it took (`Counter.received`). */
  #posted = 0
  readonly #outbox: Outbox
  /** Jobs whose body is still being encoded (big base62 payloads), and with per-client ordering, the ones held behind them. */
  #encoding = 0
  /** The room they hold (their hints). */
  #encodingBytes = 0
  readonly #heldBehind = new Map<string, DeliveryJob[]>()
  /** The jobs whose body is being encoded, so that close() can settle them at its deadline. */
  readonly #encodingJobs = new Set<DeliveryJob>()
  #encodingDone: Array<() => void> = []
  #flushSeq = 0
  readonly #loadSampler = new BrokerLoadSampler()
  readonly #starvationGuard: StarvationGuard
  readonly #flushWaiters = new Map<number, () => void>()
  /**
   * Jobs settled on this side, not the delivery thread's, by event name: taken after close, dropped to make
   * room, unencodable, or lost with the thread.
   */
  readonly #here = new DeliveryMetrics()
  /** Jobs taken since the start, by `eventIndex` (what #abandon and #lost settle in bulk is counted from it). */
  readonly #acceptedByEvent = new Float64Array(HOOK_EVENT_NAMES.length)
  /** The delivery thread's last figures, once close() settled what it had not (it may be starved). */
  #frozen: Float64Array | undefined
  #broken: Error | undefined
  #closing: Promise<void> | undefined
  #closeDeadline: Deadline | undefined
  /** The delivery thread was told to close (a shorter deadline is told it again). */
  #closePosted = false
  #closed: (() => void) | undefined

  constructor(options: DeliveryThreadOptions) {
    this.#options = options
    this.#ordered = options.config.ordering === 'per-client'
    this.#counters = new Float64Array(
      new SharedArrayBuffer((COUNTER_COUNT + DELIVERY_METRICS_CELLS) * Float64Array.BYTES_PER_ELEMENT),
    )
    this.#starvationGuard = new StarvationGuard(this.#counters, options.priority)
    const { maxQueue, maxQueueBytes } = options.config
    this.#budget = QueueBudget.create(maxQueue, maxQueueBytes, true)
    this.#claims = new Claims(Claims.allocate(Math.min(2 * maxQueue + CLAIM_SLACK, MAX_CLAIM_SLOTS)))
    this.#handedOver = new HandedOver(this.#claims)
    this.#outbox = new Outbox({
      withKeys: this.#ordered,
      canPost: (count) => this.#handedOver.hasRoom(count),
      post: (batch) => {
        const { ids, offsets } = batch
        const seq = this.#posted
        for (let i = 0; i < ids.length; i++)
          this.#handedOver.push(
            ids[i] as number,
            (offsets[i + 1] as number) - (offsets[i] as number),
            batch.events[i] as number,
          )
        this.#posted += ids.length
        this.#sampleLoad()
        this.#post({ ...batch, seq })
      },
    })
    // Started now, so that it is ready by the first event (loading it takes ~100 ms: `docs/delivery.md`, "Start").
    this.#workerStarted()
  }

  enqueue(job: DeliveryJob): void {
    addAt(this.#acceptedByEvent, job.eventIndex, 1)
    this.#outstanding++
    if (this.#outstanding === 1) this.#worker?.ref()
    if (this.#closing !== undefined) {
      this.#drop(job.id, 'closed', job.eventIndex)
      return
    }
    if (!this.#reserve(job.id, bytesOf(job), job.eventIndex)) return
    const held = this.#ordered ? this.#heldBehind.get(job.key) : undefined
    if (held !== undefined) held.push(job)
    else if (job.body instanceof Promise) this.#awaitBody(job, job.body)
    else this.#add(job.id, job.body, job.key, job.eventIndex)
  }

  /**
   * Reserves room for a job of `bytes` about to wait on this side. Past `max_queue` or `max_queue_bytes`,
   * the oldest waiting jobs within reach make room: those handed over that the delivery thread has not
   * started yet, then those still here. When none is left (the delivery thread holds the rest, waiting for
   * retries), the new job is dropped itself. False when it was.
   */
  #reserve(id: number, bytes: number, event: number): boolean {
    const budget = this.#budget
    if (!budget.fitsAlone(bytes)) {
      this.#drop(id, 'queue_bytes_full', event)
      return false
    }
    for (let full = budget.reserve(bytes); full !== undefined; full = budget.reserve(bytes)) {
      const dropOldest = (oldest: number, size: number, oldestEvent: number) => {
        budget.release(size)
        this.#drop(oldest, full, oldestEvent)
      }
      if (!this.#handedOver.revokeOldest(dropOldest) && !this.#outbox.dropOldest(dropOldest)) {
        this.#drop(id, full, event)
        return false
      }
    }
    return true
  }

  /** The usual case goes over as a record; the rest (closing, held behind a big body, no thread) as a body. */
  enqueueMessage(id: number, event: MessageHookEvent, key: string): void {
    const usual =
      this.#closing === undefined &&
      this.#broken === undefined &&
      !(this.#ordered && this.#heldBehind.has(key))
    if (!usual) {
      const body = serializeEvent(event, this.#options.config.encoding)
      this.enqueue({ id, body, key, eventIndex: eventIndex(event.event) })
      return
    }
    addAt(this.#acceptedByEvent, eventIndex(event.event), 1)
    this.#outstanding++
    if (this.#outstanding === 1) this.#worker?.ref()
    if (this.#reserve(id, recordBound(event), eventIndex(event.event))) {
      this.#outbox.addMessage(id, event, key)
      this.#pilingUp()
    }
  }

  stats(): DispatcherStats {
    const frozen = this.#frozen
    const counters = frozen ?? this.#counters
    const bytes = this.#budget.usage
    return {
      queued: frozen ? 0 : this.#budget.count,
      queued_bytes: frozen ? 0 : bytes.queued,
      inflight: frozen ? 0 : (counters[Counter.inflight] ?? 0),
      inflight_bytes: frozen ? 0 : bytes.inflight,
      // The delivery thread's outcomes, as it writes them, and those settled on this side (dropped from
      // the queue, or failed with no attempt behind them: no body, or no thread).
      ...DeliveryMetrics.read(counters.subarray(COUNTER_COUNT), this.#here.cells),
      ...pauseOf(counters[Counter.pausedUntil] ?? 0),
    }
  }

  /** Resolves when every job taken so far has been reported. */
  async flush(): Promise<void> {
    await this.#encodingSettled()
    await this.#outbox.drained()
    if (this.#outstanding === 0) return
    const seq = this.#flushSeq++
    const flushed = new Promise<void>((resolve) => this.#flushWaiters.set(seq, resolve))
    this.#post({ type: 'flush', seq })
    await flushed
  }

  /**
   * Stops taking jobs, lets the delivery thread drain until `timeoutMs`, then ends it. Idempotent: later
   * calls get the first call's promise, and a shorter timeout than the first call's cuts it short.
   */
  close(timeoutMs: number): Promise<void> {
    const deadline = this.#closeDeadline
    if (deadline === undefined) {
      const first = new Deadline(timeoutMs, true)
      this.#closeDeadline = first
      this.#closing = this.#close(first)
    } else if (deadline.shorten(timeoutMs) && this.#closePosted && this.#worker !== undefined)
      this.#post({ type: 'close', timeoutMs: deadline.left })
    return this.#closing as Promise<void>
  }

  /**
   * Everything runs on this thread's clock: the delivery thread may be starved (it runs at a low priority),
   * so past the deadline and a short grace, what it has not accounted for is settled here as `closed`.
   */
  async #close(deadline: Deadline): Promise<void> {
    const untilDeadline = (grace = 0) => deadline.reached(grace)
    // Jobs taken before close get their chance within the deadline: bodies being encoded, jobs waiting
    // for the delivery thread to take them.
    await Promise.race([this.#encodingSettled(), untilDeadline()])
    this.#dropEncoding()
    await Promise.race([this.#outbox.drained(), untilDeadline()])
    this.#outbox.takeAll((id, size, event) => this.#dropReserved(id, size, 'closed', event))
    const worker = this.#worker
    if (worker === undefined) return
    const closed = new Promise<boolean>((resolve) => {
      this.#closed = () => resolve(true)
    })
    // With nothing outstanding the thread is unref'd; its answer must be awaited all the same.
    worker.ref()
    // A later close() with a shorter timeout posts it again: the thread's dispatcher keeps the earliest.
    this.#post({ type: 'close', timeoutMs: deadline.left })
    this.#closePosted = true
    const answered = await Promise.race([closed, untilDeadline(CLOSE_GRACE_MS).then(() => false)])
    this.#worker = undefined
    if (!answered) this.#abandon()
    worker.unref()
    // Termination needs the thread to run: not awaited past the grace, it happens in the background.
    const terminated = worker.terminate().catch(() => {})
    await (answered ? Promise.race([terminated, untilDeadline(CLOSE_GRACE_MS)]) : Promise.resolve())
    deadline.cancel()
  }

  /**
   * The delivery thread did not answer in time: the jobs it has not started are taken back, and whatever
   * else it holds (in flight, waiting for a retry) is counted dropped (`closed`) from its last figures.
   */
  #abandon(): void {
    // Taken back so that the thread cannot start them any more; counted below with the rest, and reported
    // by the front with the rest (`abandoned`): one by one, 50,000 of them took 150 ms on a busy machine.
    let count = 0
    let bytes = 0
    this.#handedOver.revokeAll((_id, size) => {
      count++
      bytes += size
    })
    this.#budget.releaseMany(count, bytes)
    this.#frozen = Float64Array.from(this.#counters)
    const now = this.stats()
    this.#settleByEvent(now, (event, count) => this.#here.dropped('closed', event, count))
    this.#outstanding = 0
    this.#options.callbacks.abandoned()
    for (const resolve of this.#flushWaiters.values()) resolve()
    this.#flushWaiters.clear()
  }

  /**
   * Counts, by event name, the jobs taken and not accounted for (delivered, failed or dropped) in `now`,
   * less those still `aside` (by `eventIndex`): what #abandon and #lost settle in bulk.
   */
  #settleByEvent(
    now: DeliveryCounts,
    settle: (event: number, count: number) => void,
    aside?: Float64Array,
  ): void {
    HOOK_EVENT_NAMES.forEach((name, event) => {
      let settled = (now.delivered_by_event[name] ?? 0) + (aside?.[event] ?? 0)
      for (const count of Object.values(now.failed_by_event[name] ?? {})) settled += count
      for (const count of Object.values(now.dropped_by_event[name] ?? {})) settled += count
      const left = (this.#acceptedByEvent[event] as number) - settled
      if (left > 0) settle(event, left)
    })
  }

  #dropReserved(id: number, size: number, reason: DropReason, event: number): void {
    this.#budget.release(size)
    this.#drop(id, reason, event)
  }

  /** The job waits here while its body is encoded, holding the room of its hint. */
  #awaitBody(job: DeliveryJob, body: Promise<string>): void {
    this.#encoding++
    this.#encodingBytes += bytesOf(job)
    this.#encodingJobs.add(job)
    if (this.#ordered) this.#heldBehind.set(job.key, [])
    const settle = (text: string | undefined) => {
      // close() counted and reported it, and the jobs held behind it, already.
      if (this.#frozen !== undefined || !this.#encodingJobs.delete(job)) return
      this.#encoding--
      this.#encodingBytes -= bytesOf(job)
      const held = this.#ordered ? this.#heldBehind.get(job.key) : undefined
      this.#heldBehind.delete(job.key)
      this.#budget.release(bytesOf(job))
      const event = job.eventIndex
      if (text === undefined) this.#fail(job.id, 'ERR_SERIALIZE', 'the body could not be encoded', event)
      else if (this.#closing !== undefined) this.#drop(job.id, 'closed', event)
      else if (this.#reserve(job.id, Buffer.byteLength(text), event)) this.#add(job.id, text, job.key, event)
      // The jobs held behind it go now, in order (one of them may be waiting for its own body).
      for (const next of held ?? []) {
        this.#outstanding--
        addAt(this.#acceptedByEvent, next.eventIndex, -1)
        this.#budget.release(bytesOf(next))
        this.enqueue(next)
      }
      if (this.#encoding === 0) for (const resolve of this.#encodingDone.splice(0)) resolve()
    }
    body.then(settle, () => settle(undefined))
  }

  /**
   * Past close()'s deadline, jobs still waiting for their body, and those held behind them, are dropped
   * (`closed`) now, not when their encoding ends: close() resolves on its own clock.
   */
  #dropEncoding(): void {
    for (const job of this.#encodingJobs) {
      this.#encodingJobs.delete(job)
      this.#encoding--
      this.#encodingBytes -= bytesOf(job)
      this.#dropReserved(job.id, bytesOf(job), 'closed', job.eventIndex)
      const held = this.#ordered ? this.#heldBehind.get(job.key) : undefined
      this.#heldBehind.delete(job.key)
      for (const next of held ?? []) this.#dropReserved(next.id, bytesOf(next), 'closed', next.eventIndex)
    }
    for (const resolve of this.#encodingDone.splice(0)) resolve()
  }

  #encodingSettled(): Promise<void> {
    if (this.#encoding === 0) return Promise.resolve()
    return new Promise((resolve) => this.#encodingDone.push(resolve))
  }

  /** Adds a job whose room is reserved. */
  #add(id: number, body: Body, key: string, event: number): void {
    if (this.#broken !== undefined) {
      this.#budget.release(bodyBytes(body))
      this.#fail(id, 'ERR_DELIVERY_THREAD', `the delivery thread failed: ${this.#broken.message}`, event)
      return
    }
    this.#outbox.add(id, body, key, event)
    this.#pilingUp()
  }

  /**
   * A delivery thread starved of CPU takes no batch, so none is handed over: the load is measured, and the
   * thread's starvation seen (`StarvationGuard`), as jobs pile up too, at every 256th waiting here.
   */
  #pilingUp(): void {
    if ((this.#outbox.length & 255) === 0) this.#sampleLoad()
  }

  /** Tells the delivery thread how busy this thread is (`PriorityGovernor`); a stale figure reads as idle. */
  #sampleLoad(): void {
    const load = this.#loadSampler.sample(performance.now())
    if (load === undefined) return
    const now = Date.now()
    this.#counters[Counter.brokerLoad] = load
    this.#counters[Counter.brokerLoadAt] = now
    this.#starvationGuard.check(now, load)
  }

  /** Messages go in order: a flush or close is sent only once the outbox has handed over every job. */
  #post(message: ToDeliveryThread): void {
    this.#workerStarted().postMessage(message, message.type === 'jobs' ? [message.bytes] : [])
  }

  #workerStarted(): Worker {
    if (this.#worker !== undefined) return this.#worker
    const data: DeliveryThreadData = {
      config: this.#options.config,
      idPrefix: this.#options.idPrefix,
      sensitive: this.#options.sensitive,
      counters: this.#counters.buffer as SharedArrayBuffer,
      budget: this.#budget.buffer,
      claims: this.#claims.buffer,
      priority: this.#options.priority,
    }
    const worker = startSiblingWorker(import.meta.url, 'thread-worker', { workerData: data })
    worker.on('message', (message: FromDeliveryThread) => this.#receive(message))
    worker.on('error', (error) => this.#lost(worker, error))
    worker.on('exit', (code) => this.#lost(worker, new Error(`delivery thread exited with code ${code}`)))
    if (this.#outstanding === 0) worker.unref()
    this.#worker = worker
    return worker
  }

  #receive(message: FromDeliveryThread): void {
    // Past close()'s deadline the thread's account is closed; what it says later is not counted twice.
    if (this.#frozen !== undefined) return
    switch (message.type) {
      case 'taken':
        this.#outbox.taken()
        break
      case 'reports':
        this.#report(message)
        break
      case 'flushed':
        this.#flushWaiters.get(message.seq)?.()
        this.#flushWaiters.delete(message.seq)
        this.#releaseIfIdle()
        break
      case 'closed':
        this.#closed?.()
        break
      case 'raise':
        raiseThreadPolicy(message.thread)
        break
    }
  }

  #report({ delivered, failed, dropped }: Extract<FromDeliveryThread, { type: 'reports' }>): void {
    const callbacks = this.#options.callbacks
    for (let i = 0; i < delivered.length; i += 3)
      callbacks.delivered(delivered[i] as number, delivered[i + 1] as number, delivered[i + 2] as number)
    for (const { id, attempts, outcome } of failed) callbacks.failed(id, attempts, outcome)
    for (let i = 0; i < dropped.length; i += 3)
      callbacks.dropped(
        dropped[i] as number,
        dropped[i + 1] as number,
        DROP_REASONS[dropped[i + 2] as number] ?? 'closed',
      )
    this.#settled(delivered.length / 3 + failed.length + dropped.length / 3)
  }

  #settled(count: number): void {
    this.#outstanding -= count
    this.#releaseIfIdle()
  }

  /** The thread keeps the process alive only while it holds jobs or owes an answer (flush, close). */
  #releaseIfIdle(): void {
    if (this.#outstanding === 0 && this.#flushWaiters.size === 0 && this.#closing === undefined)
      this.#worker?.unref()
  }

  #drop(id: number, reason: DropReason, event: number): void {
    this.#here.dropped(reason, event)
    this.#options.callbacks.dropped(id, 0, reason)
    this.#settled(1)
  }

  #fail(id: number, code: string, message: string, event: number): void {
    const outcome: AttemptOutcome = { kind: 'fail', code, message }
    this.#here.failed(outcome, event)
    this.#options.callbacks.failed(id, 0, outcome)
    this.#settled(1)
  }

  /**
   * The thread died (it should not: everything in it is guarded). Whatever it held is reported failed,
   * never lost silently, and so is every later job: a webhook whose delivery thread crashed says so on
   * each event rather than restarting into the same crash.
   */
  #lost(worker: Worker, error: Error): void {
    if (this.#worker !== worker || this.#broken !== undefined) return
    this.#broken = error
    this.#worker = undefined
    this.#outbox.takeAll(() => {})
    // Counted failed below with the rest; taken back so that making room later does not count them again.
    this.#handedOver.revokeAll(() => {})
    // Bodies still being encoded, and jobs held behind them, fail one by one as they settle (#add sees the
    // thread is gone); only their room stays reserved.
    let aside = this.#encoding
    let asideBytes = 0
    const asideByEvent = new Float64Array(HOOK_EVENT_NAMES.length)
    for (const job of this.#encodingJobs) addAt(asideByEvent, job.eventIndex, 1)
    for (const held of this.#heldBehind.values())
      for (const job of held) {
        aside++
        asideBytes += bytesOf(job)
        addAt(asideByEvent, job.eventIndex, 1)
      }
    this.#budget.reset(aside, asideBytes + this.#encodingBytes)
    const lost: AttemptOutcome = { kind: 'fail', code: 'ERR_DELIVERY_THREAD', message: error.message }
    this.#settleByEvent(this.stats(), (event, count) => this.#here.failed(lost, event, count), asideByEvent)
    this.#outstanding = aside
    this.#options.callbacks.lost(error)
    for (const resolve of this.#flushWaiters.values()) resolve()
    this.#flushWaiters.clear()
    this.#closed?.()
  }
}

function addAt(counts: Float64Array, index: number, by: number): void {
  counts[index] = (counts[index] ?? 0) + by
}

/** The endpoint's pause, from the delivery thread's counter (it may have ended since it was written). */
function pauseOf(until: number): Pick<DispatcherStats, 'paused' | 'paused_until'> {
  return until > Date.now() ? { paused: true, paused_until: until } : { paused: false, paused_until: null }
}
