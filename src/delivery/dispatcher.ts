/**
 * The dispatcher: from enqueued jobs to HTTP attempts and back to reports.
 *
 * It knows nothing of events' meaning, matching or formatting (that is the front, `src/webhook.ts`), and
 * talks to the front only through `DeliveryJob`, the callbacks and `DispatcherStats`, all plain data,
 * so that it could move to a worker thread unchanged.
 *
 * Every accepted job ends in exactly one of three callbacks: `delivered`, `failed` or `dropped`
 * (`reports.ts`).
 *
 * The unit of an attempt is an entry, or with `batch` a lead entry carrying its batch (itself first):
 * one request, one verdict for all of them (`entry.ts`). The endpoint as a whole can be paused
 * (`endpoint.ts`): then nothing starts, retries included.
 *
 * This class only decides what starts next and when everything stops; each step is its own module:
 * waiting jobs and batches (`waiting.ts`), room in the budget (`room.ts`), the written body
 * (`body-writer.ts`), retries and bodies awaited (`parked.ts`), the attempt (`attempt.ts`), the pool that
 * runs attempts (`workers.ts`).
 */
import { Attempts } from './attempt.ts'
import { BodyWriter } from './body-writer.ts'
import { DeliveryMetrics } from './delivery-metrics.ts'
import { EndpointGate } from './endpoint.ts'
import { type Entry, hasPendingBody, newEntry } from './entry.ts'
import type { Delivery, DeliveryJob, DispatcherOptions, DispatcherStats } from './job.ts'
import { ParkedJobs } from './parked.ts'
import { Reports } from './reports.ts'
import { Room } from './room.ts'
import { Deadline } from './timers.ts'
import { WaitingJobs } from './waiting.ts'
import { Workers } from './workers.ts'

export class Dispatcher implements Delivery {
  readonly #options: DispatcherOptions
  readonly #gate: EndpointGate
  readonly #reports: Reports
  readonly #waiting: WaitingJobs
  readonly #parked: ParkedJobs
  readonly #room: Room
  readonly #writer: BodyWriter
  readonly #attempts: Attempts
  readonly #workers: Workers<Entry>
  /** Prepared to start, waiting for the attempts in flight to leave room for its body (`sendBytes`). */
  #blocked: Entry | undefined
  #closing: Promise<void> | undefined
  #closeDeadline: Deadline | undefined
  /** Past the close deadline: nothing starts any more, whatever is left is dropped. */
  #aborted = false
  /** Closing: batches go without waiting to fill up. */
  #closingDrain = false

  constructor(options: DispatcherOptions) {
    this.#options = options
    const pump = () => this.#workers.pump()
    const aborted = () => this.#aborted
    this.#gate = new EndpointGate(options.retry, pump)
    const metrics = options.metrics ?? new DeliveryMetrics()
    this.#reports = new Reports(options.callbacks, metrics, (entry) => this.#letGo(entry))
    this.#waiting = new WaitingJobs(options, (entry) => this.#reports.finish(entry), pump)
    this.#parked = new ParkedJobs(pump)
    this.#room = new Room(options.budget, this.#waiting, this.#reports)
    this.#writer = new BodyWriter(options, this.#room, this.#reports, this.#parked)
    const parts = {
      gate: this.#gate,
      room: this.#room,
      reports: this.#reports,
      parked: this.#parked,
      aborted,
    }
    this.#attempts = new Attempts(options, parts)
    this.#workers = new Workers<Entry>(
      options.poolSize,
      () => this.#nextStartable(),
      (entry) => this.#attempts.run(entry),
      aborted,
    )
  }

  enqueue(job: DeliveryJob): void {
    this.#take(job)
    this.#workers.pump()
  }

  /**
   * Jobs handed over together: all wait before the first starts, so that an attempt that needs room finds
   * the waiting ones to drop, rather than go past `max_queue_bytes` beside siblings still on their way.
   */
  enqueueAll(jobs: Iterable<DeliveryJob>): void {
    for (const job of jobs) this.#take(job)
    this.#workers.pump()
  }

  #take(job: DeliveryJob): void {
    const entry = newEntry(job, this.#options.batch === undefined ? 0 : Date.now())
    this.#reports.accepted()
    if (entry.seq !== undefined) {
      // Handed over with its room reserved; the broker's thread may have taken it back on the way.
      if (!this.#waiting.arrived(entry)) return
    } else if (this.#closing === undefined && !this.#room.reserve(entry)) return
    if (this.#closing !== undefined) {
      // A handed-over job holds room (it may be taken back first); one given here while closing does not.
      if (entry.seq === undefined) this.#reports.drop(entry, 'closed')
      else if (this.#waiting.claim(entry)) this.#room.dropWaiting(entry, 'closed')
      return
    }
    if (entry.body instanceof Promise) this.#parked.awaitBody(entry, entry.body)
    this.#waiting.push(entry)
  }

  /** What `stats()` says of now, without the counts: what the delivery thread publishes on every turn. */
  levels(): Pick<
    DispatcherStats,
    'queued' | 'queued_bytes' | 'inflight' | 'inflight_bytes' | 'paused' | 'paused_until'
  > {
    const pausedUntil = this.#gate.pausedUntil()
    const bytes = this.#options.budget.usage
    return {
      queued: this.#options.budget.count,
      queued_bytes: bytes.queued,
      inflight: this.#room.inflightEvents,
      inflight_bytes: bytes.inflight,
      paused: pausedUntil !== undefined,
      paused_until: pausedUntil ?? null,
    }
  }

  stats(): DispatcherStats {
    return {
      // Its own counts below are the same as these sums, counted at the same places.
      ...DeliveryMetrics.read(this.#reports.metrics.cells),
      ...this.levels(),
      ...this.#reports.counts(),
    }
  }

  /** Resolves when every accepted job has been reported. */
  flush(): Promise<void> {
    return this.#reports.flush()
  }

  /**
   * Stops accepting, lets the work drain until `timeoutMs`, then aborts what is in flight and drops
   * everything left as `closed`. Idempotent: later calls get the first call's promise, and a shorter
   * timeout than the first call's cuts it short (the earliest deadline holds).
   */
  close(timeoutMs: number): Promise<void> {
    if (this.#closeDeadline === undefined) {
      const deadline = new Deadline(timeoutMs, false)
      this.#closeDeadline = deadline
      this.#closing = this.#drainThenAbort(deadline)
    } else if (!this.#aborted) this.#closeDeadline.shorten(timeoutMs)
    return this.#closing as Promise<void>
  }

  /** Purges revoked jobs now (the delivery thread calls it on a timer, so that they free their memory). */
  purgeRevoked(): void {
    this.#waiting.purgeRevoked()
  }

  async #drainThenAbort(deadline: Deadline): Promise<void> {
    // Nothing more will come to fill a batch: waiting ones go now.
    this.#closingDrain = true
    this.#workers.pump()
    await Promise.race([this.flush(), deadline.reached()])
    deadline.cancel()
    this.#abortAll()
    await this.flush()
  }

  #abortAll(): void {
    this.#aborted = true
    const room = this.#room
    const blocked = this.#blocked
    this.#blocked = undefined
    if (blocked !== undefined) room.dropWaiting(blocked, 'closed')
    for (let entry = this.#waiting.takeOldest(); entry; entry = this.#waiting.takeOldest())
      room.dropWaiting(entry, 'closed')
    this.#parked.dropAll((entry) => room.dropWaiting(entry, 'closed'))
    this.#waiting.stopBatchTimer()
    this.#gate.close()
    this.#attempts.abortAll()
    // Reported now rather than when their attempt settles: a custom `send` may ignore the signal.
    room.dropInflight()
    this.#workers.stop()
  }

  /**
   * The next job that can be attempted now: one waiting for room first, then retries and bodies that
   * became ready, then new jobs (a batch of them, with `batch`). None while the endpoint is paused, nor
   * beside its probe, nor while the next one's body does not fit beside the attempts in flight.
   */
  #nextStartable(): Entry | undefined {
    while (!this.#aborted) {
      if (!this.#gate.mayStart()) return undefined
      let entry = this.#blocked
      this.#blocked = undefined
      if (entry === undefined) {
        entry =
          this.#parked.shiftReady() ??
          (this.#options.batch === undefined
            ? this.#waiting.takeNext()
            : this.#waiting.takeBatch(this.#closingDrain))
        if (entry === undefined) return undefined
        if (entry.batch === undefined ? entry.body instanceof Promise : entry.batch.some(hasPendingBody)) {
          this.#parked.waitForBody(entry)
          continue
        }
        this.#writer.prepare(entry)
        if (!this.#writer.dropUnencodable(entry) || this.#room.dropIfTooBig(entry)) continue
      }
      if (!this.#room.toStart(entry)) {
        // Written again when room comes: held while it waits, its body would be outside the budget.
        entry.sendable = undefined
        this.#blocked = entry
        return undefined
      }
      if (entry.sendable === undefined && !this.#writer.rewrite(entry)) continue
      entry.state = 'inflight'
      this.#room.started(entry)
      this.#gate.started()
      return entry
    }
    return undefined
  }

  /** A finished job lets go of its key and of its place among the parked. */
  #letGo(entry: Entry): void {
    this.#parked.delete(entry)
    this.#waiting.release(entry)
  }
}
