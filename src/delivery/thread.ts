/**
 * Delivery on a worker thread: the broker's side of it.
 *
 * On 2 cores an HTTP request costs the sending thread some 150 µs of CPU, ten times what a broker spends
 * routing a message: on the broker's own thread, webhooks would cut its throughput several times over.
 * So the dispatcher and the sender run on a thread of their own (`thread-worker.ts`) and the broker's
 * thread only hands over bodies (message events: their fields, `message-record.ts`), in one message per
 * turn of its event loop.
 */
import type { Worker } from 'node:worker_threads'
import type { ResolvedConfig } from '../config-types.ts'
import { serializeEvent } from '../format.ts'
import type { DeliveryPriority, DropReason } from '../webhook-types.ts'
import { startSiblingWorker } from '../worker-thread.ts'
import type { Body, Delivery, DeliveryJob, DispatcherCallbacks, DispatcherStats } from './job.ts'
import type { MessageHookEvent } from './message-record.ts'
import { Outbox } from './outbox.ts'
import {
  COUNTER_COUNT,
  Counter,
  type DeliveryThreadData,
  type FromDeliveryThread,
  type ToDeliveryThread,
} from './thread-protocol.ts'

const DROP_REASONS: readonly DropReason[] = ['queue_full', 'closed']

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
  }
}

export class DeliveryThread implements Delivery {
  readonly #options: DeliveryThreadOptions
  readonly #ordered: boolean
  readonly #counters: Float64Array
  #worker: Worker | undefined
  /** Jobs taken and not yet reported; the worker keeps the process alive only while there are some. */
  #outstanding = 0
  /** Jobs handed over since the start; the delivery thread counts those it took (`Counter.received`). */
  #posted = 0
  readonly #outbox: Outbox
  /** Jobs whose body is still being encoded (big base62 payloads), and with per-client ordering, the ones held behind them. */
  #encoding = 0
  readonly #heldBehind = new Map<string, DeliveryJob[]>()
  #encodingDone: Array<() => void> = []
  #flushSeq = 0
  readonly #flushWaiters = new Map<number, () => void>()
  /** Jobs settled on this side, not the delivery thread's: taken after close, unencodable, or lost with the thread. */
  readonly #droppedHere: Record<DropReason, number> = { queue_full: 0, closed: 0 }
  #failedHere = 0
  #broken: Error | undefined
  #closing: Promise<void> | undefined
  #closed: (() => void) | undefined

  constructor(options: DeliveryThreadOptions) {
    this.#options = options
    this.#ordered = options.config.ordering === 'per-client'
    this.#counters = new Float64Array(new SharedArrayBuffer(COUNTER_COUNT * Float64Array.BYTES_PER_ELEMENT))
    this.#outbox = new Outbox({
      maxQueue: options.config.maxQueue,
      withKeys: this.#ordered,
      waitingThere: () => this.#waitingThere(),
      post: (message) => {
        this.#posted += message.ids.length
        this.#post(message)
      },
      dropped: (id) => this.#drop(id, 'queue_full'),
    })
  }

  enqueue(job: DeliveryJob): void {
    this.#outstanding++
    if (this.#outstanding === 1) this.#worker?.ref()
    if (this.#closing !== undefined) {
      this.#drop(job.id, 'closed')
      return
    }
    const held = this.#ordered ? this.#heldBehind.get(job.key) : undefined
    if (held !== undefined) held.push(job)
    else if (job.body instanceof Promise) this.#awaitBody(job, job.body)
    else this.#add(job.id, job.body, job.key)
  }

  /** The usual case goes over as a record; the rest (closing, held behind a big body, no thread) as a body. */
  enqueueMessage(id: number, event: MessageHookEvent, key: string): void {
    const usual =
      this.#closing === undefined &&
      this.#broken === undefined &&
      !(this.#ordered && this.#heldBehind.has(key))
    if (!usual) {
      this.enqueue({ id, body: serializeEvent(event, this.#options.config.encoding), key })
      return
    }
    this.#outstanding++
    if (this.#outstanding === 1) this.#worker?.ref()
    this.#outbox.addMessage(id, event, key)
  }

  stats(): DispatcherStats {
    const counters = this.#counters
    const queueFull = (counters[Counter.droppedQueueFull] ?? 0) + this.#droppedHere.queue_full
    const closed = (counters[Counter.droppedClosed] ?? 0) + this.#droppedHere.closed
    return {
      queued: this.#waitingThere() + this.#outbox.length + this.#encoding,
      inflight: counters[Counter.inflight] ?? 0,
      success: counters[Counter.success] ?? 0,
      failed: (counters[Counter.failed] ?? 0) + this.#failedHere,
      retried: counters[Counter.retried] ?? 0,
      dropped: queueFull + closed,
      dropped_by_reason: { queue_full: queueFull, closed },
      ...pauseOf(counters[Counter.pausedUntil] ?? 0),
    }
  }

  /** Jobs in the delivery thread's queue, and on their way to it. */
  #waitingThere(): number {
    const counters = this.#counters
    return (counters[Counter.queued] ?? 0) + this.#posted - (counters[Counter.received] ?? 0)
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

  /** Stops taking jobs, lets the delivery thread drain until `timeoutMs`, then ends it. Idempotent. */
  close(timeoutMs: number): Promise<void> {
    this.#closing ??= this.#close(timeoutMs)
    return this.#closing
  }

  async #close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    // Jobs taken before close get their chance within the deadline: bodies being encoded, jobs waiting
    // for the delivery thread to take them.
    await Promise.race([this.#encodingSettled(), delay(timeoutMs)])
    await Promise.race([this.#outbox.drained(), delay(deadline - Date.now())])
    for (const id of this.#outbox.takeAll()) this.#drop(id, 'closed')
    const worker = this.#worker
    if (worker === undefined) return
    const closed = new Promise<void>((resolve) => {
      this.#closed = resolve
    })
    // With nothing outstanding the thread is unref'd; its answer must be awaited all the same.
    worker.ref()
    this.#post({ type: 'close', timeoutMs: Math.max(0, deadline - Date.now()) })
    await closed
    this.#worker = undefined
    await worker.terminate()
  }

  #awaitBody(job: DeliveryJob, body: Promise<string>): void {
    this.#encoding++
    if (this.#ordered) this.#heldBehind.set(job.key, [])
    const settle = (text: string | undefined) => {
      this.#encoding--
      const held = this.#ordered ? this.#heldBehind.get(job.key) : undefined
      this.#heldBehind.delete(job.key)
      if (text === undefined) this.#fail(job.id, 'ERR_SERIALIZE', 'the body could not be encoded')
      else if (this.#closing !== undefined) this.#drop(job.id, 'closed')
      else this.#add(job.id, text, job.key)
      // The jobs held behind it go now, in order (one of them may be waiting for its own body).
      for (const next of held ?? []) {
        this.#outstanding--
        this.enqueue(next)
      }
      if (this.#encoding === 0) for (const resolve of this.#encodingDone.splice(0)) resolve()
    }
    body.then(settle, () => settle(undefined))
  }

  #encodingSettled(): Promise<void> {
    if (this.#encoding === 0) return Promise.resolve()
    return new Promise((resolve) => this.#encodingDone.push(resolve))
  }

  #add(id: number, body: Body, key: string): void {
    if (this.#broken !== undefined) {
      this.#fail(id, 'ERR_DELIVERY_THREAD', `the delivery thread failed: ${this.#broken.message}`)
      return
    }
    this.#outbox.add(id, body, key)
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

  #drop(id: number, reason: DropReason): void {
    this.#droppedHere[reason]++
    this.#options.callbacks.dropped(id, 0, reason)
    this.#settled(1)
  }

  #fail(id: number, code: string, message: string): void {
    this.#failedHere++
    this.#options.callbacks.failed(id, 0, { kind: 'fail', code, message })
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
    this.#outbox.takeAll()
    // Bodies still being encoded fail one by one as they settle (#add sees the thread is gone).
    this.#failedHere += this.#outstanding - this.#encoding
    this.#outstanding = this.#encoding
    this.#options.callbacks.lost(error)
    for (const resolve of this.#flushWaiters.values()) resolve()
    this.#flushWaiters.clear()
    this.#closed?.()
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** The endpoint's pause, from the delivery thread's counter (it may have ended since it was written). */
function pauseOf(until: number): Pick<DispatcherStats, 'paused' | 'paused_until'> {
  return until > Date.now() ? { paused: true, paused_until: until } : { paused: false, paused_until: null }
}
