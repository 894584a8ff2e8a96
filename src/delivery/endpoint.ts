/**
 * The endpoint as a whole: paused when it says so (`Retry-After` on 429/503), and behind a circuit
 * breaker when it keeps failing (network errors, timeouts, 408, 429 and 5xx in a row).
 *
 * Retry-After tells the client to wait before its next request to that server (RFC 9110 §10.2.3), not
 * only before resending the one it answered; and an endpoint that is down gains nothing from
 * `pool_size` requests failing at once, again and again. While paused nothing starts, retries
 * included: waiting events stay queued and counted, and `max_queue` still drops the oldest.
 *
 * An endpoint not heard from gets one request at a time: at start, and after a Retry-After pause. Its
 * first answer may be a refusal (`429, Retry-After: 3600`), and `pool_size` requests sent before it
 * arrives would all get it: the pause would stop only what comes after the burst. The first answer
 * other than an endpoint failure opens the pool; endpoint failures meanwhile count as below.
 *
 * Circuit: after {@link FAILURES_TO_OPEN} endpoint failures in a row it opens, pausing the endpoint for
 * `retry.base_delay × 2^(n-1)` ms at its n-th opening in a row (at most `retry.max_delay`, never under
 * {@link MIN_OPEN_MS}). When the pause ends one request goes alone (the probe): an answer other than an
 * endpoint failure closes the circuit, a failure opens it again for twice as long.
 */
import type { AttemptOutcome } from './retry.ts'

/** Endpoint failures in a row that open the circuit. */
export const FAILURES_TO_OPEN = 5
/** Shortest pause of an open circuit, in ms: shorter ones would probe a dead endpoint several times a second. */
export const MIN_OPEN_MS = 100

/**
 * `unknown`: not heard from, one request at a time; `closed`: the whole pool; `open`: paused;
 * `half-open`: after an open pause, one probe whose failure opens the circuit again.
 */
type Circuit = 'unknown' | 'closed' | 'open' | 'half-open'

export class EndpointGate {
  readonly #retry: { baseDelay: number; maxDelay: number }
  readonly #resume: () => void
  #pausedUntil = 0
  #timer: NodeJS.Timeout | undefined
  #circuit: Circuit = 'unknown'
  #failures = 0
  #opened = 0
  /** Unknown or half-open: the request that goes alone has started and not settled. */
  #probing = false
  #closed = false

  /**
   * @param retry The delays that bound a pause.
   * @param resume Called when a pause ends, so that waiting work starts.
   */
  constructor(retry: { baseDelay: number; maxDelay: number }, resume: () => void) {
    this.#retry = retry
    this.#resume = resume
  }

  /** Whether a request may start now. */
  mayStart(): boolean {
    if (this.#pausedUntil !== 0) return false
    return this.#circuit === 'closed' || !this.#probing
  }

  /** A request started (after `mayStart`). */
  started(): void {
    if (this.#circuit !== 'closed') this.#probing = true
  }

  /**
   * A request settled with `outcome`.
   * @param cancelled It was cut by close(): it says nothing about the endpoint.
   */
  settled(outcome: AttemptOutcome, cancelled: boolean): void {
    if (cancelled || this.#closed) return
    // Only the request that went alone settles while one is in flight outside `closed`: earlier ones,
    // sent while it was closed, may still settle after a Retry-After made it `unknown`.
    const alone = this.#circuit !== 'closed' && this.#probing
    if (alone) this.#probing = false
    const status = outcome.status
    if (outcome.retryAfterMs !== undefined && (status === 429 || status === 503)) {
      // The endpoint answered and asked for a pause: it is alive, not failing. When the pause ends, it
      // is not heard from again (or, after a probe's refusal, its circuit is open as before).
      const after = this.#circuit === 'half-open' && alone ? 'open' : 'unknown'
      this.#probing = false
      // A shorter Retry-After than the pause that runs (an answer to an earlier request) changes nothing.
      if (this.#pause(outcome.retryAfterMs)) this.#circuit = after
      return
    }
    if (outcome.kind !== 'retry') {
      this.#failures = 0
      this.#opened = 0
      // An answer to a request sent before a pause began says nothing about the time after it.
      if (this.#circuit !== 'closed' && this.#pausedUntil === 0) {
        this.#circuit = 'closed'
        this.#resume()
      }
      return
    }
    this.#failures++
    if ((alone && this.#circuit === 'half-open') || this.#failures >= FAILURES_TO_OPEN) {
      if (this.#circuit !== 'open') this.#open()
    }
  }

  /** Until when the endpoint is paused (ms since the epoch), or `undefined`. */
  pausedUntil(): number | undefined {
    return this.#pausedUntil === 0 ? undefined : this.#pausedUntil
  }

  /** Stops the timer: the dispatcher is closing. */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  #open(): void {
    this.#circuit = 'open'
    this.#opened++
    const { baseDelay, maxDelay } = this.#retry
    const grown = baseDelay * 2 ** Math.min(this.#opened - 1, 30)
    this.#pause(Math.max(MIN_OPEN_MS, Math.min(maxDelay, grown)))
  }

  /** Pauses until `ms` from now, unless a pause already runs longer; whether this one holds. */
  #pause(ms: number): boolean {
    const until = Date.now() + ms
    if (until <= this.#pausedUntil) return false
    this.#pausedUntil = until
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#endPause(), ms)
    return true
  }

  #endPause(): void {
    this.#timer = undefined
    this.#pausedUntil = 0
    // One request goes alone either way: an open circuit's probe, or the first to an endpoint that
    // asked for the pause (`unknown`).
    if (this.#circuit === 'open') this.#circuit = 'half-open'
    this.#probing = false
    this.#resume()
  }
}
