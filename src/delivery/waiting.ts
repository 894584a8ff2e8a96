/**
 * The jobs waiting for their first attempt: taking the next one (or a batch of them), taking the oldest to
 * make room or to drop at close, and, with the broker's thread sharing the budget, claiming each
 * handed-over job before it is used (the broker's thread may take it back until then).
 */
import type { Claims } from './budget.ts'
import type { Entry } from './entry.ts'
import type { DispatcherOptions } from './job.ts'
import { FifoScheduler, PerKeyScheduler, type Scheduler } from './scheduler.ts'

export class WaitingJobs {
  readonly #scheduler: Scheduler<Entry>
  readonly #claims: Claims | undefined
  readonly #batch: DispatcherOptions['batch']
  /** Ends a job without a report. */
  readonly #finish: (entry: Entry) => void
  readonly #pump: () => void
  /** Handed-over jobs found revoked by the broker's thread and let go (`Claims`). */
  #purged = 0
  /** Armed while the oldest waiting event has not waited `batch.max_delay_ms` yet. */
  #batchTimer: NodeJS.Timeout | undefined

  constructor(options: DispatcherOptions, finish: (entry: Entry) => void, pump: () => void) {
    this.#scheduler = options.ordered ? new PerKeyScheduler<Entry>() : new FifoScheduler<Entry>()
    this.#claims = options.claims
    this.#batch = options.batch
    this.#finish = finish
    this.#pump = pump
  }

  push(entry: Entry): void {
    this.#scheduler.push(entry)
  }

  /** Its key's next job may start. */
  release(entry: Entry): void {
    if (entry.holdsKey) {
      entry.holdsKey = false
      this.#scheduler.release(entry)
    }
  }

  /** A handed-over job just arrived: false when the broker's thread took it back on the way (it ends here). */
  arrived(entry: Entry): boolean {
    this.purgeRevoked()
    if (this.#claims?.waiting(entry.seq as number)) return true
    this.#discard(entry)
    return false
  }

  /** A handed-over job is the broker's thread's to take back until it is claimed here; false if it was. */
  claim(entry: Entry): boolean {
    if (entry.seq === undefined || this.#claims?.claim(entry.seq)) return true
    this.#discard(entry)
    return false
  }

  /** The next job allowed to start (its key busy until `release`). */
  takeNext(): Entry | undefined {
    for (let entry = this.#scheduler.next(); entry !== undefined; entry = this.#scheduler.next()) {
      entry.holdsKey = true
      if (this.claim(entry)) return entry
    }
    return undefined
  }

  /** The oldest job waiting for its first attempt, taken out of the queue. */
  takeOldest(): Entry | undefined {
    for (let entry = this.#scheduler.shiftOldest(); entry; entry = this.#scheduler.shiftOldest())
      if (this.claim(entry)) return entry
    return undefined
  }

  /**
   * Up to `batch.max_events` waiting events as one batch, once that many wait or the oldest has waited
   * `batch.max_delay_ms` (or at once when `draining`: nothing more will come to fill it); else a timer
   * brings the pump back then. With per-client ordering a batch takes a client's following events too, in
   * order, right after its first.
   */
  takeBatch(draining: boolean): Entry | undefined {
    const { maxEvents, maxDelayMs } = this.#batch as NonNullable<DispatcherOptions['batch']>
    const oldest = this.#scheduler.oldest()
    if (oldest === undefined) return undefined
    if (this.#scheduler.size < maxEvents && !draining) {
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
    const lead = this.takeNext()
    if (lead === undefined) return undefined
    const batch = [lead]
    let last = lead
    while (batch.length < maxEvents) {
      const sameKey = this.#scheduler.nextOf(last.key)
      const next = sameKey ?? this.#scheduler.next()
      if (next === undefined) break
      // One of a key the batch holds already must not release it if it was taken back.
      next.holdsKey = sameKey === undefined
      if (!this.claim(next)) continue
      next.holdsKey = true
      next.lead = lead
      batch.push(next)
      last = next
    }
    lead.batch = batch
    return lead
  }

  /** At close: no batch is awaited any more. */
  stopBatchTimer(): void {
    clearTimeout(this.#batchTimer)
  }

  /** Lets go of the jobs at the front of the queue that the broker's thread took back: it reported them. */
  purgeRevoked(): void {
    const claims = this.#claims
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

  /** A handed-over job the broker's thread took back (and reported): it ends here without a report. */
  #discard(entry: Entry): void {
    this.#purged++
    this.#finish(entry)
  }
}
