/**
 * The dispatcher: from enqueued jobs to HTTP attempts and back to reports.
 *
 * It knows nothing of events' meaning, matching or formatting (that is the front, `src/webhook.ts`), and
 * talks to the front only through `DeliveryJob`, the callbacks and `DispatcherStats`, all plain data,
 * so that it could move to a worker thread unchanged.
 *
 * Every accepted job ends in exactly one of three callbacks: `delivered`, `failed` or `dropped`.
 *
 * The unit of an attempt is an entry, or with `batch` a lead entry carrying its batch (itself first):
 * one request, one verdict for all of them. The endpoint as a whole can be paused (`endpoint.ts`):
 * then nothing starts, retries included.
 */
import PQueue from 'p-queue'
import type { DropReason } from '../webhook-types.ts'
import { Deadlines } from './deadlines.ts'
import { DeliveryMetrics } from './delivery-metrics.ts'
import { EndpointGate } from './endpoint.ts'
import {
  type AttemptSender,
  type Body,
  bodyBytes,
  type Delivery,
  type DeliveryJob,
  type DispatcherCallbacks,
  type DispatcherOptions,
  type DispatcherStats,
} from './job.ts'
import { type AttemptOutcome, backoffDelay, CLOSED, classifyError, classifyResponse } from './retry.ts'
import { Ring } from './ring.ts'
import { FifoScheduler, PerKeyScheduler, type Schedulable, type Scheduler } from './scheduler.ts'
import { Deadline } from './timers.ts'

type SendableEntry = Parameters<AttemptSender>[0]

type EntryState = 'waiting' | 'body' | 'backoff' | 'ready' | 'inflight' | 'done'

/** A job and its delivery state; the scheduler's links live on it so that queueing allocates nothing more. */
interface Entry extends DeliveryJob, Schedulable {
  attempts: number
  state: EntryState
  /** The body promise was rejected: the job fails when its turn comes. */
  bodyError: boolean
  /** Taken from the scheduler with `next()`: its key stays busy until it is finished. */
  holdsKey: boolean
  /** The retry timer, while in backoff. */
  timer: NodeJS.Timeout | undefined
  /** When it was enqueued (ms, `Date.now()`), for `batch.max_delay_ms`; 0 without batching. */
  arrivedAt: number
  /** On a batch's lead entry: the whole batch, itself first, in body order. */
  batch: Entry[] | undefined
  /** On a member of a batch: its lead, which carries the attempt's state. */
  lead: Entry | undefined
  /** Its bytes in the budget, held while it waits and while it is in flight. */
  size: number
  /** From when its attempt is prepared until it ends: what it sends, and the bytes that adds to `size`. */
  sendable: SendableEntry | undefined
  sendBytes: number
}

export class Dispatcher implements Delivery {
  readonly #options: DispatcherOptions
  readonly #callbacks: DispatcherCallbacks
  readonly #scheduler: Scheduler<Entry>
  /** Started jobs whose next attempt may go now (retry timer fired, body ready); they go before new ones. */
  readonly #ready = new Ring<Entry>(64)
  /** Started jobs waiting for a retry timer or for their body. */
  readonly #parked = new Set<Entry>()
  readonly #inflight = new Set<Entry>()
  /** Events in flight (a batch counts all its events). */
  #inflightEvents = 0
  readonly #gate: EndpointGate
  /** Armed while the oldest waiting event has not waited `batch.max_delay_ms` yet. */
  #batchTimer: NodeJS.Timeout | undefined
  /** Runs at most `poolSize` workers, each taking jobs until none is left (so p-queue costs once per burst). */
  readonly #pool: PQueue
  #workers = 0
  /** Workers waiting for a job; `#pump` resumes one with it, close resumes them all with nothing. */
  #idleWorkers: Array<(entry: Entry | undefined) => void> = []
  readonly #deadlines: Deadlines
  /** Prepared to start, waiting for the attempts in flight to leave room for its body (`sendBytes`). */
  #blocked: Entry | undefined
  /** Jobs accepted and not yet reported. */
  #pending = 0
  #success = 0
  #failed = 0
  #retried = 0
  readonly #metrics: DeliveryMetrics
  readonly #dropped: Record<DropReason, number> = { queue_full: 0, queue_bytes_full: 0, closed: 0 }
  /** Handed-over jobs found revoked by the broker's thread and let go (`Claims`). */
  #purged = 0
  #idleWaiters: Array<() => void> = []
  #closing: Promise<void> | undefined
  #closeDeadline: Deadline | undefined
  /** Past the close deadline: nothing starts any more, whatever is left is dropped. */
  #aborted = false
  /** Closing: batches go without waiting to fill up. */
  #closingDrain = false

  constructor(options: DispatcherOptions) {
    this.#options = options
    this.#callbacks = options.callbacks
    this.#scheduler = options.ordered ? new PerKeyScheduler<Entry>() : new FifoScheduler<Entry>()
    this.#pool = new PQueue({ concurrency: options.poolSize })
    this.#deadlines = new Deadlines(options.cancelTimeout, deadlineSlack(options.cancelTimeout))
    this.#gate = new EndpointGate(options.retry, () => this.#pump())
    this.#metrics = options.metrics ?? new DeliveryMetrics()
  }

  enqueue(job: DeliveryJob): void {
    const entry: Entry = {
      id: job.id,
      eventIndex: job.eventIndex,
      body: job.body,
      key: job.key,
      older: undefined,
      newer: undefined,
      laneNext: undefined,
      attempts: 0,
      state: 'waiting',
      bodyError: false,
      holdsKey: false,
      timer: undefined,
      arrivedAt: this.#options.batch === undefined ? 0 : Date.now(),
      batch: undefined,
      lead: undefined,
      seq: job.seq,
      size: job.body instanceof Promise ? (job.bytesHint ?? 0) : bodyBytes(job.body),
      sendable: undefined,
      sendBytes: 0,
    }
    this.#pending++
    if (entry.seq !== undefined) {
      // Handed over with its room reserved; the broker's thread may have taken it back on the way.
      this.#purgeRevoked()
      if (!this.#options.claims?.waiting(entry.seq)) {
        this.#discard(entry)
        return
      }
    } else if (this.#closing === undefined && !this.#reserve(entry)) return
    if (this.#closing !== undefined) {
      // A handed-over job holds room (it may be taken back first); one given here while closing does not.
      if (entry.seq === undefined) this.#drop(entry, 'closed')
      else if (this.#claim(entry)) this.#dropWaiting(entry, 'closed')
      return
    }
    if (entry.body instanceof Promise) this.#awaitBody(entry, entry.body)
    this.#scheduler.push(entry)
    this.#pump()
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
      inflight: this.#inflightEvents,
      inflight_bytes: bytes.inflight,
      paused: pausedUntil !== undefined,
      paused_until: pausedUntil ?? null,
    }
  }

  stats(): DispatcherStats {
    const dropped = this.#dropped
    return {
      // Its own counts below are the same as these sums, counted at the same places.
      ...DeliveryMetrics.read(this.#metrics.cells),
      ...this.levels(),
      success: this.#success,
      failed: this.#failed,
      retried: this.#retried,
      dropped: dropped.queue_full + dropped.queue_bytes_full + dropped.closed,
      dropped_by_reason: { ...dropped },
    }
  }

  /** Resolves when every accepted job has been reported. */
  flush(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
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

  async #drainThenAbort(deadline: Deadline): Promise<void> {
    // Nothing more will come to fill a batch: waiting ones go now.
    this.#closingDrain = true
    this.#pump()
    await Promise.race([this.flush(), deadline.reached()])
    deadline.cancel()
    this.#abortAll()
    await this.flush()
  }

  #abortAll(): void {
    this.#aborted = true
    const blocked = this.#blocked
    this.#blocked = undefined
    if (blocked !== undefined) this.#dropWaiting(blocked, 'closed')
    for (let entry = this.#takeOldestWaiting(); entry; entry = this.#takeOldestWaiting())
      this.#dropWaiting(entry, 'closed')
    for (let entry = this.#ready.shift(); entry; entry = this.#ready.shift())
      this.#dropWaiting(entry, 'closed')
    for (const entry of this.#parked) {
      clearTimeout(entry.timer)
      this.#dropWaiting(entry, 'closed')
    }
    clearTimeout(this.#batchTimer)
    this.#gate.close()
    // Reported now rather than when their attempt settles: a custom `send` may ignore the signal.
    this.#deadlines.abortAll(CLOSED)
    for (const entry of this.#inflight) {
      this.#endRoom(entry)
      this.#drop(entry, 'closed')
    }
    this.#inflight.clear()
    this.#inflightEvents = 0
    const idle = this.#idleWorkers
    this.#idleWorkers = []
    for (const resume of idle) resume(undefined)
  }

  /** Hands startable jobs to idle workers, then starts workers while the pool has room. */
  #pump(): void {
    for (;;) {
      const idle = this.#idleWorkers.pop()
      if (idle === undefined && this.#workers >= this.#options.poolSize) return
      const entry = this.#nextStartable()
      if (entry === undefined) {
        if (idle !== undefined) this.#idleWorkers.push(idle)
        return
      }
      if (idle !== undefined) idle(entry)
      else {
        this.#workers++
        void this.#pool.add(() => this.#work(entry))
      }
    }
  }

  /**
   * One pool slot: attempts `first`, then job after job. With nothing to do it waits for `#pump` to hand
   * it the next job rather than ending: events trickling in one at a time (a broker's normal pace) would
   * otherwise pay for a p-queue task each. Ends only at close. Never rejects.
   */
  async #work(first: Entry): Promise<void> {
    try {
      let entry: Entry | undefined = first
      while (entry !== undefined) {
        await this.#attempt(entry)
        entry = this.#nextStartable()
        if (entry === undefined && !this.#aborted)
          entry = await new Promise<Entry | undefined>((resolve) => this.#idleWorkers.push(resolve))
      }
    } finally {
      this.#workers--
    }
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
          this.#ready.shift() ?? (this.#options.batch === undefined ? this.#takeNext() : this.#takeBatch())
        if (entry === undefined) return undefined
        if (entry.batch === undefined ? entry.body instanceof Promise : entry.batch.some(hasPendingBody)) {
          // Its keys stay busy meanwhile, so per-client order holds; #awaitBody brings it back.
          entry.state = 'body'
          this.#parked.add(entry)
          continue
        }
        this.#prepare(entry)
        if (!this.#dropUnencodable(entry)) continue
      }
      if (!this.#roomToStart(entry)) {
        // Written again when room comes: held while it waits, its body would be outside the budget.
        entry.sendable = undefined
        this.#blocked = entry
        return undefined
      }
      if (entry.sendable === undefined && !this.#rewrite(entry)) continue
      // In flight from now: counted so, and aborted by close() even before its request is sent.
      entry.state = 'inflight'
      this.#options.budget.started(entry.batch?.length ?? 1, roomOf(entry))
      this.#inflight.add(entry)
      this.#inflightEvents += entry.batch?.length ?? 1
      this.#gate.started()
      return entry
    }
    return undefined
  }

  /**
   * Writes what the attempt sends (`options.format`), and the bytes that takes beside the waiting bodies.
   * A body that cannot be written fails the event (`#dropUnencodable`).
   */
  #prepare(entry: Entry): void {
    const format = this.#options.format
    entry.sendBytes = 0
    if (format === undefined) {
      entry.sendable = entry as SendableEntry
      return
    }
    const written = (member: Entry): Body => {
      try {
        const body = format(member.body as Body)
        if (body !== member.body) entry.sendBytes += bodyBytes(body)
        return body
      } catch {
        member.bodyError = true
        return ''
      }
    }
    if (entry.batch === undefined) entry.sendable = { id: entry.id, body: written(entry) }
    else {
      const batch = entry.batch.map((member) => ({ id: member.id, body: written(member) }))
      entry.sendable = { id: entry.id, body: '', batch }
    }
  }

  /**
   * Writes again the body of a job that waited for room (the same bytes: it took their room); false when
   * nothing of it is left to send.
   */
  #rewrite(entry: Entry): boolean {
    const budget = this.#options.budget
    const taken = entry.sendBytes
    this.#prepare(entry)
    budget.ended(taken)
    budget.takeInflight(entry.sendBytes, true)
    if (this.#dropUnencodable(entry)) return true
    budget.ended(entry.sendBytes)
    entry.sendBytes = 0
    return false
  }

  /**
   * Takes the room an attempt's written body needs beside the rest. Attempts go before waiting jobs: past
   * `max_queue_bytes`, the oldest jobs waiting here make room, as long as the bytes in flight, this
   * attempt's with them, stay within the budget; else it waits for the attempts in flight to end. With
   * none in flight it goes anyway, past the budget alone if nothing is left to drop here.
   */
  #roomToStart(entry: Entry): boolean {
    const bytes = entry.sendBytes
    const budget = this.#options.budget
    if (bytes === 0 || budget.takeInflight(bytes, false)) return true
    const alone = this.#inflight.size === 0
    if (alone || budget.inflightFits(roomOf(entry) + bytes))
      for (let oldest = this.#takeOldestWaiting(); oldest; oldest = this.#takeOldestWaiting()) {
        this.#dropWaiting(oldest, 'queue_bytes_full')
        if (budget.takeInflight(bytes, false)) return true
      }
    return alone && budget.takeInflight(bytes, true)
  }

  /** Fails the events whose body could not be encoded; whether anything of `entry` is left to send. */
  #dropUnencodable(entry: Entry): boolean {
    const failure: AttemptOutcome = {
      kind: 'fail',
      code: 'ERR_SERIALIZE',
      message: 'the body could not be encoded',
    }
    if (entry.batch === undefined) {
      if (entry.bodyError) {
        this.#releaseRoom(entry)
        this.#fail(entry, failure)
      }
      return !entry.bodyError
    }
    if (!entry.batch.some((member) => member.bodyError)) return true
    for (const member of entry.batch)
      if (member.bodyError) {
        this.#options.budget.release(member.size)
        this.#failOne(member, failure)
      }
    const rest = entry.batch.filter((member) => !member.bodyError)
    entry.batch = undefined
    const lead = rest[0]
    if (lead === undefined) return false
    // The first event left leads the batch: its id names the request.
    for (const member of rest) member.lead = lead
    lead.lead = undefined
    lead.batch = rest
    lead.attempts = entry.attempts
    lead.state = 'ready'
    entry.sendable = undefined
    this.#ready.push(lead)
    return false
  }

  /**
   * Up to `batch.max_events` waiting events as one batch, once that many wait or the oldest has waited
   * `batch.max_delay_ms`; else a timer brings the pump back then. With per-client ordering a batch takes
   * a client's following events too, in order, right after its first.
   */
  #takeBatch(): Entry | undefined {
    const { maxEvents, maxDelayMs } = this.#options.batch as NonNullable<DispatcherOptions['batch']>
    const oldest = this.#scheduler.oldest()
    if (oldest === undefined) return undefined
    if (this.#scheduler.size < maxEvents && !this.#closingDrain) {
      const wait = oldest.arrivedAt + maxDelayMs - Date.now()
      if (wait > 0) {
        if (this.#batchTimer === undefined)
          this.#batchTimer = setTimeout(() => {
            this.#batchTimer = undefined
            this.#pump()
          }, wait)
        return undefined
      }
    }
    const lead = this.#takeNext()
    if (lead === undefined) return undefined
    const batch = [lead]
    let last = lead
    while (batch.length < maxEvents) {
      const sameKey = this.#scheduler.nextOf(last.key)
      const next = sameKey ?? this.#scheduler.next()
      if (next === undefined) break
      // One of a key the batch holds already must not release it if it was taken back.
      next.holdsKey = sameKey === undefined
      if (!this.#claim(next)) continue
      next.holdsKey = true
      next.lead = lead
      batch.push(next)
      last = next
    }
    lead.batch = batch
    return lead
  }

  #takeNext(): Entry | undefined {
    for (let entry = this.#scheduler.next(); entry !== undefined; entry = this.#scheduler.next()) {
      entry.holdsKey = true
      if (this.#claim(entry)) return entry
    }
    return undefined
  }

  /** A handed-over job is the broker's thread's to take back until it is claimed here; false if it was. */
  #claim(entry: Entry): boolean {
    if (entry.seq === undefined || this.#options.claims?.claim(entry.seq)) return true
    this.#discard(entry)
    return false
  }

  /** The oldest job waiting for its first attempt, taken out of the queue. */
  #takeOldestWaiting(): Entry | undefined {
    for (let entry = this.#scheduler.shiftOldest(); entry; entry = this.#scheduler.shiftOldest())
      if (this.#claim(entry)) return entry
    return undefined
  }

  /**
   * Reserves the room of a job (or a batch) about to wait, new or back for a retry; past `max_queue` or
   * `max_queue_bytes` the oldest jobs waiting for their first attempt make room, and when none is left
   * here, this one is dropped. False when it was.
   */
  #reserve(entry: Entry): boolean {
    const budget = this.#options.budget
    const count = entry.batch?.length ?? 1
    const bytes = roomOf(entry)
    if (!budget.fitsAlone(bytes)) {
      this.#drop(entry, 'queue_bytes_full')
      return false
    }
    for (let full = budget.reserve(bytes, count); full !== undefined; full = budget.reserve(bytes, count)) {
      const oldest = this.#takeOldestWaiting()
      if (oldest === undefined) {
        this.#drop(entry, full)
        return false
      }
      this.#dropWaiting(oldest, full)
    }
    return true
  }

  /** Gives back the room a job (or a batch) held while it waited. */
  #releaseRoom(entry: Entry): void {
    this.#options.budget.releaseMany(entry.batch?.length ?? 1, roomOf(entry))
  }

  /** Gives back the bytes a job (or a batch) held in flight, its written body's included: its attempt is over. */
  #endRoom(entry: Entry): void {
    this.#options.budget.ended(roomOf(entry) + entry.sendBytes)
    entry.sendable = undefined
    entry.sendBytes = 0
  }

  /** Lets go of the jobs at the front of the queue that the broker's thread took back: it reported them. */
  #purgeRevoked(): void {
    const claims = this.#options.claims
    if (claims === undefined || claims.revoked === this.#purged) return
    for (
      let oldest = this.#scheduler.oldest();
      oldest?.seq !== undefined && !claims.waiting(oldest.seq);
      oldest = this.#scheduler.oldest()
    ) {
      this.#scheduler.shiftOldest()
      this.#discard(oldest)
    }
  }

  /** Purges revoked jobs now (the delivery thread calls it on a timer, so that they free their memory). */
  purgeRevoked(): void {
    this.#purgeRevoked()
  }

  /** One attempt, cut at `cancel_timeout` whatever the server does. Never rejects. */
  async #attempt(entry: Entry): Promise<void> {
    if (entry.state === 'done') return
    entry.attempts++
    const signal = this.#deadlines.signal()
    let outcome: AttemptOutcome
    const started = performance.now()
    try {
      const response = await this.#options.send(entry.sendable as SendableEntry, entry.attempts, signal)
      outcome = classifyResponse(response, this.#options.retry.maxDelay)
    } catch (error) {
      outcome = classifyError(error, signal, this.#options.cancelTimeout, this.#options.sensitive)
    }
    this.#metrics.observe(performance.now() - started)
    // Its bytes leave the budget here, once: close() may have let go of it already.
    if (this.#inflight.delete(entry)) {
      this.#inflightEvents -= entry.batch?.length ?? 1
      this.#endRoom(entry)
    }
    this.#gate.settled(outcome, signal.reason === CLOSED || this.#aborted)
    try {
      this.#settle(entry, outcome, signal)
    } catch {
      // The front's callbacks guard themselves; nothing here may stop the worker.
    }
  }

  #settle(entry: Entry, outcome: AttemptOutcome, signal: AbortSignal): void {
    if (entry.state === 'done') return
    if (outcome.kind === 'success') this.#deliver(entry, outcome.status ?? 200)
    else if (this.#aborted || signal.reason === CLOSED) this.#drop(entry, 'closed')
    else if (outcome.kind === 'fail' || entry.attempts >= this.#options.retry.maxAttempts)
      this.#fail(entry, outcome)
    else this.#retryLater(entry, outcome)
  }

  #retryLater(entry: Entry, outcome: AttemptOutcome): void {
    // It waits again: it needs its room back.
    if (!this.#reserve(entry)) return
    this.#retried += entry.batch?.length ?? 1
    for (const member of entry.batch ?? [entry]) this.#metrics.retried(member.eventIndex)
    const { baseDelay, maxDelay } = this.#options.retry
    // The pause, if the endpoint asked for one, already holds it back that long.
    const delay = outcome.retryAfterMs ?? backoffDelay(entry.attempts, baseDelay, maxDelay)
    entry.state = 'backoff'
    this.#parked.add(entry)
    entry.timer = setTimeout(() => this.#wake(entry), delay)
  }

  /** A parked job may try again: its retry delay is over, or its body is ready. */
  #wake(entry: Entry): void {
    if (!this.#parked.delete(entry)) return
    entry.timer = undefined
    entry.state = 'ready'
    this.#ready.push(entry)
    this.#pump()
  }

  #awaitBody(entry: Entry, body: Promise<string>): void {
    body.then(
      (text) => {
        entry.body = text
        this.#bodySettled(entry)
      },
      () => {
        entry.bodyError = true
        entry.body = ''
        this.#bodySettled(entry)
      },
    )
  }

  #bodySettled(entry: Entry): void {
    const unit = entry.lead ?? entry
    if (unit.state === 'body' && !(unit.batch?.some(hasPendingBody) ?? false)) this.#wake(unit)
  }

  // A batch's verdict is each of its events': stats and reports count events.
  #deliver(entry: Entry, status: number): void {
    const attempts = entry.attempts
    for (const member of entry.batch ?? [entry]) {
      this.#success++
      this.#metrics.delivered(member.eventIndex)
      this.#finish(member)
      this.#callbacks.delivered(member.id, attempts, status)
    }
  }

  #fail(entry: Entry, outcome: AttemptOutcome): void {
    const attempts = entry.attempts
    for (const member of entry.batch ?? [entry]) {
      member.attempts = attempts
      this.#failOne(member, outcome)
    }
  }

  #failOne(entry: Entry, outcome: AttemptOutcome): void {
    this.#failed++
    this.#metrics.failed(outcome, entry.eventIndex)
    this.#finish(entry)
    this.#callbacks.failed(entry.id, entry.attempts, outcome)
  }

  #drop(entry: Entry, reason: DropReason): void {
    const attempts = entry.attempts
    for (const member of entry.batch ?? [entry]) {
      this.#dropped[reason]++
      this.#metrics.dropped(reason, member.eventIndex)
      this.#finish(member)
      this.#callbacks.dropped(member.id, attempts, reason)
    }
  }

  /** Drops a job (or a batch) that holds room in the budget. */
  #dropWaiting(entry: Entry, reason: DropReason): void {
    this.#releaseRoom(entry)
    this.#drop(entry, reason)
  }

  /** A handed-over job the broker's thread took back (and reported): it ends here without a report. */
  #discard(entry: Entry): void {
    this.#purged++
    this.#finish(entry)
  }

  #finish(entry: Entry): void {
    entry.state = 'done'
    this.#parked.delete(entry)
    if (entry.holdsKey) {
      entry.holdsKey = false
      this.#scheduler.release(entry)
    }
    if (--this.#pending === 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const wake of waiters) wake()
    }
  }
}

/** How much later than `cancel_timeout` an attempt may be cut: 2%, within [1, 50] ms. */
function deadlineSlack(cancelTimeout: number): number {
  return Math.min(50, Math.max(1, Math.floor(cancelTimeout / 50)))
}

function hasPendingBody(entry: Entry): boolean {
  return entry.body instanceof Promise
}

/** The bytes a job, or a whole batch, takes in the budget. */
function roomOf(entry: Entry): number {
  if (entry.batch === undefined) return entry.size
  let bytes = 0
  for (const member of entry.batch) bytes += member.size
  return bytes
}
