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

/**
 * A deadline that only ever moves earlier: a second `close()` with a shorter timeout than a first one
 * still pending cuts both short (the caller's clock wins). What waits for it wakes at the earliest set.
 */
export class Deadline {
  #at: number
  readonly #unref: boolean
  readonly #waiters = new Set<{ grace: number; resolve: () => void; timer: LongTimer | undefined }>()

  /** `ms` from now (`Infinity` for never); `unref`: its timers do not keep the process alive. */
  constructor(ms: number, unref: boolean) {
    this.#at = Date.now() + ms
    this.#unref = unref
  }

  /** Ms left, 0 once past (`Infinity` for never). */
  get left(): number {
    return Math.max(0, this.#at - Date.now())
  }

  /** Moves it to `ms` from now when that is earlier; whether it moved. */
  shorten(ms: number): boolean {
    const at = Date.now() + ms
    if (!(at < this.#at)) return false
    this.#at = at
    for (const waiter of this.#waiters) {
      waiter.timer?.clear()
      this.#arm(waiter)
    }
    return true
  }

  /** Resolves `grace` ms past the deadline, wherever it is by then. */
  reached(grace = 0): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { grace, resolve, timer: undefined }
      this.#waiters.add(waiter)
      this.#arm(waiter)
    })
  }

  /** Clears every timer still armed: what waits for them is not needed any more (they never resolve). */
  cancel(): void {
    for (const waiter of this.#waiters) waiter.timer?.clear()
    this.#waiters.clear()
  }

  #arm(waiter: { grace: number; resolve: () => void; timer: LongTimer | undefined }): void {
    const fire = () => {
      this.#waiters.delete(waiter)
      waiter.resolve()
    }
    waiter.timer = setLongTimeout(fire, this.#at + waiter.grace - Date.now(), this.#unref)
  }
}
