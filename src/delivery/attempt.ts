/**
 * One attempt's life: sent (`options.send`) and cut at `cancel_timeout` whatever the server does, then
 * settled: delivered, failed, dropped as `closed`, or parked for a retry with its room reserved again.
 */
import { Deadlines } from './deadlines.ts'
import type { EndpointGate } from './endpoint.ts'
import type { Entry, SendableEntry } from './entry.ts'
import type { DispatcherOptions } from './job.ts'
import type { ParkedJobs } from './parked.ts'
import type { Reports } from './reports.ts'
import { type AttemptOutcome, backoffDelay, CLOSED, classifyError, classifyResponse } from './retry.ts'
import type { Room } from './room.ts'

export interface AttemptParts {
  gate: EndpointGate
  room: Room
  reports: Reports
  parked: ParkedJobs
  /** Past the close deadline: whatever does not succeed is dropped as `closed`. */
  aborted: () => boolean
}

export class Attempts {
  readonly #options: DispatcherOptions
  readonly #parts: AttemptParts
  readonly #deadlines: Deadlines

  constructor(options: DispatcherOptions, parts: AttemptParts) {
    this.#options = options
    this.#parts = parts
    this.#deadlines = new Deadlines(options.cancelTimeout, deadlineSlack(options.cancelTimeout))
  }

  /** At close, past its deadline: cuts every attempt in flight. */
  abortAll(): void {
    this.#deadlines.abortAll(CLOSED)
  }

  /** Never rejects. */
  async run(entry: Entry): Promise<void> {
    if (entry.state === 'done') return
    const { gate, room, reports, aborted } = this.#parts
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
    reports.metrics.observe(performance.now() - started)
    room.ended(entry)
    gate.settled(outcome, signal.reason === CLOSED || aborted())
    try {
      this.#settle(entry, outcome, signal)
    } catch {
      // The front's callbacks guard themselves; nothing here may stop the worker.
    }
  }

  #settle(entry: Entry, outcome: AttemptOutcome, signal: AbortSignal): void {
    if (entry.state === 'done') return
    const reports = this.#parts.reports
    if (outcome.kind === 'success') reports.deliver(entry, outcome.status ?? 200)
    else if (this.#parts.aborted() || signal.reason === CLOSED) reports.drop(entry, 'closed')
    else if (outcome.kind === 'fail' || entry.attempts >= this.#options.retry.maxAttempts)
      reports.fail(entry, outcome)
    else this.#retryLater(entry, outcome)
  }

  #retryLater(entry: Entry, outcome: AttemptOutcome): void {
    // It waits again: it needs its room back.
    if (!this.#parts.room.reserve(entry)) return
    this.#parts.reports.retried(entry)
    const { baseDelay, maxDelay } = this.#options.retry
    // The pause, if the endpoint asked for one, already holds it back that long.
    const delay = outcome.retryAfterMs ?? backoffDelay(entry.attempts, baseDelay, maxDelay)
    this.#parts.parked.retryAfter(entry, delay)
  }
}

/** How much later than `cancel_timeout` an attempt may be cut: 2%, within [1, 50] ms. */
function deadlineSlack(cancelTimeout: number): number {
  return Math.min(50, Math.max(1, Math.floor(cancelTimeout / 50)))
}
