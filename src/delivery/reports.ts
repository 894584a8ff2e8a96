/**
 * The end of every accepted job: exactly one of the three callbacks (`delivered`, `failed`, `dropped`),
 * or none for a handed-over job the broker's thread took back; the counts `stats()` gives of them; and
 * `flush()`, which waits for the jobs not yet reported.
 *
 * A batch's verdict is each of its events': stats and reports count events.
 */
import type { DropReason } from '../webhook-types.ts'
import type { DeliveryMetrics } from './delivery-metrics.ts'
import { type Entry, eventsOf } from './entry.ts'
import type { DispatcherCallbacks, DispatcherStats } from './job.ts'
import type { AttemptOutcome } from './retry.ts'

export class Reports {
  readonly #callbacks: DispatcherCallbacks
  readonly metrics: DeliveryMetrics
  /** Lets go of what a finished entry still holds elsewhere (its key, its place among the parked). */
  readonly #letGo: (entry: Entry) => void
  /** Jobs accepted and not yet reported. */
  #pending = 0
  #success = 0
  #failed = 0
  #retried = 0
  readonly #dropped: Record<DropReason, number> = { queue_full: 0, queue_bytes_full: 0, closed: 0 }
  #idleWaiters: Array<() => void> = []

  constructor(callbacks: DispatcherCallbacks, metrics: DeliveryMetrics, letGo: (entry: Entry) => void) {
    this.#callbacks = callbacks
    this.metrics = metrics
    this.#letGo = letGo
  }

  accepted(): void {
    this.#pending++
  }

  counts(): Pick<DispatcherStats, 'success' | 'failed' | 'retried' | 'dropped' | 'dropped_by_reason'> {
    const dropped = this.#dropped
    return {
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

  deliver(entry: Entry, status: number): void {
    const attempts = entry.attempts
    for (const member of entry.batch ?? [entry]) {
      this.#success++
      this.metrics.delivered(member.eventIndex)
      this.finish(member)
      this.#callbacks.delivered(member.id, attempts, status)
    }
  }

  retried(entry: Entry): void {
    this.#retried += eventsOf(entry)
    for (const member of entry.batch ?? [entry]) this.metrics.retried(member.eventIndex)
  }

  fail(entry: Entry, outcome: AttemptOutcome): void {
    const attempts = entry.attempts
    for (const member of entry.batch ?? [entry]) {
      member.attempts = attempts
      this.failOne(member, outcome)
    }
  }

  failOne(entry: Entry, outcome: AttemptOutcome): void {
    this.#failed++
    this.metrics.failed(outcome, entry.eventIndex)
    this.finish(entry)
    this.#callbacks.failed(entry.id, entry.attempts, outcome)
  }

  drop(entry: Entry, reason: DropReason): void {
    const attempts = entry.attempts
    for (const member of entry.batch ?? [entry]) {
      this.#dropped[reason]++
      this.metrics.dropped(reason, member.eventIndex)
      this.finish(member)
      this.#callbacks.dropped(member.id, attempts, reason)
    }
  }

  /** Ends a job without a report: for one the broker's thread took back, which reported it. */
  finish(entry: Entry): void {
    entry.state = 'done'
    this.#letGo(entry)
    if (--this.#pending === 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const wake of waiters) wake()
    }
  }
}
