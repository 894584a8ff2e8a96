/**
 * Per-attempt deadlines without one AbortController and one timer per attempt.
 *
 * Attempts that start within the same `slackMs` window share a signal, aborted `timeoutMs + slackMs` after
 * the window opened: every attempt is cut no earlier than `timeoutMs` after it started and at most
 * `slackMs` later. Creating an AbortSignal costs more than the rest of the dispatcher's work per attempt;
 * but adding a listener to one walks all its listeners, so a window also closes after a few attempts.
 */
import { setMaxListeners } from 'node:events'
import { DEADLINE } from './retry.ts'
import { MAX_TIMER_MS } from './timers.ts'

/** Attempts per shared signal: beyond this, adding a listener costs more than a new signal. */
const ATTEMPTS_PER_WINDOW = 8

interface Window {
  controller: AbortController
  timer: NodeJS.Timeout
}

export class Deadlines {
  readonly #timeoutMs: number
  readonly #slackMs: number
  readonly #live = new Set<Window>()
  #current: Window | undefined
  #currentCloses = 0
  #currentAttempts = 0

  /**
   * @param timeoutMs The shortest time an attempt gets.
   * @param slackMs How much later than `timeoutMs` an attempt may be cut.
   */
  constructor(timeoutMs: number, slackMs: number) {
    this.#timeoutMs = timeoutMs
    this.#slackMs = slackMs
  }

  /** The signal for an attempt starting now. */
  signal(): AbortSignal {
    const now = Date.now()
    if (
      this.#current === undefined ||
      now >= this.#currentCloses ||
      this.#currentAttempts >= ATTEMPTS_PER_WINDOW
    ) {
      this.#current = this.#open()
      this.#currentCloses = now + this.#slackMs
      this.#currentAttempts = 0
    }
    this.#currentAttempts++
    return this.#current.controller.signal
  }

  /** Aborts every attempt still running, with `reason`. */
  abortAll(reason: unknown): void {
    for (const window of this.#live) {
      clearTimeout(window.timer)
      window.controller.abort(reason)
    }
    this.#live.clear()
    this.#current = undefined
  }

  #open(): Window {
    const controller = new AbortController()
    // Up to pool_size requests listen on one signal: that is by design, not a leak.
    setMaxListeners(0, controller.signal)
    // Past 2^31 - 1 ms a Node timer fires at once: the slack must not push a long timeout over it.
    const ms = Math.min(this.#timeoutMs + this.#slackMs, MAX_TIMER_MS)
    const window: Window = {
      controller,
      timer: setTimeout(() => {
        this.#live.delete(window)
        if (this.#current === window) this.#current = undefined
        controller.abort(DEADLINE)
      }, ms),
    }
    // An idle webhook must not keep the process alive for a deadline nobody waits on.
    window.timer.unref()
    this.#live.add(window)
    return window
  }
}
