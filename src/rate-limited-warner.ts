import type { Logger } from './webhook-types.ts'

/** How long a summary's interval lasts when not told, ms. */
export const DEFAULT_WARNING_INTERVAL_MS = 10_000

/** What `new RateLimitedWarner()` takes. */
export interface RateLimitedWarnerOptions {
  /** Where the lines go: only its `warn` is called. */
  logger: Pick<Logger, 'warn'>
  /**
   * How long, in ms, repeats of a warning are counted before one summary line says how many there were.
   * @default 10000
   */
  intervalMs?: number
}

/** The line that stands for the repeats of a warning. */
export interface WarningSummary {
  /** The summary's message, from the count (the interval's first occurrence included) and the interval in seconds. */
  msg: (count: number, seconds: number) => string
  /**
   * Fields of the summary line, to which `count` and `interval_s` are added.
   * @default {}
   */
  obj?: object
}

interface Repeats {
  /** Occurrences in the current interval, the one logged at its start included. */
  count: number
  /** Occurrences not logged one by one. */
  unlogged: number
  startedAt: number
  summary: WarningSummary
  timer: NodeJS.Timeout
}

/**
 * Keeps a repeated warning to a few lines: the first occurrence of a key is logged at once, the same key
 * again within the interval is only counted, and when the interval ends one summary line says how many
 * there were (`upstream unreachable: 1999 connections refused in the last 10 s`). A key that stays quiet
 * for a whole interval starts over: its next occurrence is logged at once.
 *
 * ```ts
 * const warner = new RateLimitedWarner({ logger })
 * warner.warn('upstream:ECONNREFUSED', { code }, 'connection error', {
 *   msg: (count, seconds) => `upstream unreachable: ${count} connections refused in the last ${seconds} s`,
 * })
 * warner.close() // at shutdown: logs what is counted, stops the timers
 * ```
 */
export class RateLimitedWarner {
  readonly #logger: Pick<Logger, 'warn'>
  readonly #intervalMs: number
  readonly #keys = new Map<string, Repeats>()

  constructor(options: RateLimitedWarnerOptions) {
    this.#logger = options.logger
    this.#intervalMs = options.intervalMs ?? DEFAULT_WARNING_INTERVAL_MS
    if (!(this.#intervalMs > 0 && this.#intervalMs <= 2_147_483_647))
      throw new RangeError(`intervalMs must be between 1 and 2147483647, got ${String(options.intervalMs)}`)
  }

  /**
   * Logs `msg` with `obj` when `key` has not been seen within the current interval; else counts it toward
   * `summary`, whose latest value is the one used. Never throws, even when the logger does.
   */
  warn(key: string, obj: object, msg: string, summary: WarningSummary): void {
    const repeats = this.#keys.get(key)
    if (repeats !== undefined) {
      repeats.count++
      repeats.unlogged++
      repeats.summary = summary
      return
    }
    const timer = setTimeout(() => this.#endInterval(key), this.#intervalMs)
    timer.unref()
    this.#keys.set(key, { count: 1, unlogged: 0, startedAt: Date.now(), summary, timer })
    this.#log(obj, msg)
  }

  /** Logs the summaries of what is counted and not yet logged, and stops every timer. */
  close(): void {
    for (const [key, repeats] of this.#keys) {
      clearTimeout(repeats.timer)
      this.#keys.delete(key)
      if (repeats.unlogged > 0) this.#summarize(repeats, secondsOf(Date.now() - repeats.startedAt))
    }
  }

  #endInterval(key: string): void {
    const repeats = this.#keys.get(key)
    if (repeats === undefined) return
    if (repeats.unlogged === 0) {
      this.#keys.delete(key)
      return
    }
    this.#summarize(repeats, secondsOf(this.#intervalMs))
    // Still repeating: the next interval counts from zero, and its repeats are summarized too.
    repeats.count = 0
    repeats.unlogged = 0
    repeats.startedAt = Date.now()
    repeats.timer.refresh()
  }

  #summarize(repeats: Repeats, seconds: number): void {
    const { msg, obj } = repeats.summary
    this.#log({ ...obj, count: repeats.count, interval_s: seconds }, msg(repeats.count, seconds))
  }

  #log(obj: object, msg: string): void {
    try {
      this.#logger.warn(obj, msg)
    } catch {
      // A logger that throws must not break the caller (a proxy's connection handling).
    }
  }
}

/** Whole seconds from 10 s on, tenths below: `10`, `2.5`, `0.2`. */
function secondsOf(ms: number): number {
  return ms >= 10_000 ? Math.round(ms / 1000) : Math.max(0.1, Math.round(ms / 100) / 10)
}
