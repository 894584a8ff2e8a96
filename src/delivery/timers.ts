/**
 * Delays of any length. Node fires a timer past 2^31 - 1 ms at once (with a warning); these wait the
 * time asked, in steps, and `Infinity` never fires.
 */

/** The longest delay one Node timer takes. */
export const MAX_TIMER_MS = 2_147_483_647

export interface LongTimer {
  clear(): void
}

/** Calls `fn` after `ms` (any non-negative number, `Infinity` for never). `unref`: do not keep the process alive. */
export function setLongTimeout(fn: () => void, ms: number, unref = false): LongTimer {
  let timer: NodeJS.Timeout | undefined
  const arm = (left: number) => {
    if (left === Number.POSITIVE_INFINITY) return
    const step = Math.min(Math.max(left, 0), MAX_TIMER_MS)
    timer = setTimeout(() => (left > MAX_TIMER_MS ? arm(left - step) : fn()), step)
    if (unref) timer.unref()
  }
  arm(ms)
  return { clear: () => clearTimeout(timer) }
}

/** Resolves after `ms` (see `setLongTimeout`); does not keep the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setLongTimeout(resolve, ms, true))
}
