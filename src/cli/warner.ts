import type { Logger } from '../webhook-types.ts'

/** Warnings that may come once per event: the first of a kind at once, then one summary per interval. */
export interface RateLimitedWarner {
  /**
   * Warns about `key` (one kind of problem, e.g. `status 503` or `ECONNREFUSED`): at once if it is the
   * first of its kind in this interval, else counted into the interval's summary.
   */
  warn(key: string, fields: object, message: string): void
  /** Logs the pending summaries and stops the timer. */
  stop(): void
}

interface Pending {
  count: number
  fields: object
  message: string
}

/**
 * A dead endpoint fails every event: one line per event would flood the log. Each kind is logged the first
 * time, then summed up (`count` more, the last one's message) at the end of each interval where it recurred;
 * a kind quiet for a whole interval is logged at once again when it comes back.
 */
export function createRateLimitedWarner(logger: Logger, intervalMs: number): RateLimitedWarner {
  const pending = new Map<string, Pending>()
  const summarize = () => {
    for (const [key, entry] of pending) {
      if (entry.count === 0) {
        pending.delete(key)
        continue
      }
      logger.warn(
        { ...entry.fields, reason: key, count: entry.count, interval_ms: intervalMs },
        `${entry.count} more like this in the last ${intervalMs / 1000}s: ${entry.message}`,
      )
      entry.count = 0
    }
  }
  const timer = setInterval(summarize, intervalMs)
  timer.unref()
  return {
    warn(key, fields, message) {
      const entry = pending.get(key)
      if (entry === undefined) {
        pending.set(key, { count: 0, fields, message })
        logger.warn({ ...fields, reason: key }, message)
        return
      }
      entry.count++
      entry.fields = fields
      entry.message = message
    },
    stop() {
      clearInterval(timer)
      summarize()
    },
  }
}
