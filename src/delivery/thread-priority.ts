/**
 * The delivery thread's share of the CPU. The broker comes first: on a machine with few cores, the
 * delivery thread, the garbage collector's helper threads and the endpoint all want the core the broker's
 * thread is on, and every moment the broker waits for it slows its clients. Events can wait instead: the
 * queue absorbs a burst. But only a burst: at SCHED_IDLE the thread gets next to nothing while other
 * threads keep the cores busy, and under a steady load events then starve (measured: 20% of a steady
 * 4,000 events/s delivered on a busy host, issue 15). So `idle` is a default that yields while delivery
 * keeps up, and competes on equal terms while it does not ({@link PriorityGovernor}).
 */
import { execFile } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { type EventLoopUtilization, performance } from 'node:perf_hooks'
import { WebhookConfigError } from '../errors.ts'
import type { DeliveryPriority } from '../webhook-types.ts'
import { Counter, LOAD_SAMPLE_MS, LOAD_STALE_MS } from './thread-protocol.ts'

/** The lowest nice value: what `idle` falls back to when the scheduling policy cannot be changed. */
const LOWEST_NICENESS = 19

/** `options.deliveryPriority`, checked: options may come from code that TypeScript never saw. */
export function resolveDeliveryPriority(value: unknown): DeliveryPriority {
  if (value === undefined) return 'idle'
  if (value === 'idle' || value === 'normal') return value
  const got = typeof value === 'string' ? `'${value}'` : typeof value
  throw new WebhookConfigError('deliveryPriority', `must be 'idle' or 'normal', got ${got}`)
}

/**
 * Lowers the calling thread's priority as `priority` says. Linux only: there a thread has its own nice
 * value and scheduling policy, while elsewhere the call would reach the whole process, the broker's thread
 * with it. Whatever is not permitted is left as it is.
 */
export function applyDeliveryPriority(priority: DeliveryPriority): void {
  if (governed(priority)) lower()
}

/**
 * Whether `idle` applies: on Linux, and only where a lowered thread can come back. Without CAP_SYS_NICE
 * or an RLIMIT_NICE that allows nice 0 (sched(7): leaving SCHED_IDLE, or going from nice 19 back to 0,
 * needs one of them), a lowered thread would stay lowered for good, and a steady load on a busy host would
 * starve it (20% of 4,000 events/s delivered): such a thread is left at the process's priority instead.
 */
export function governed(priority: DeliveryPriority): boolean {
  comesBack ??= process.platform === 'linux' && canComeBack()
  return priority === 'idle' && comesBack
}

/** Read once per thread: the capability and the limit are the process's, and do not change under it. */
let comesBack: boolean | undefined

/** CAP_SYS_NICE in the effective set (bit 23), or `Max nice priority` of 20 (nice 0) or more. */
function canComeBack(): boolean {
  try {
    const capabilities = /^CapEff:\s*([0-9a-f]+)$/m.exec(
      readFileSync('/proc/thread-self/status', 'utf8'),
    )?.[1]
    if (capabilities !== undefined && ((BigInt(`0x${capabilities}`) >> 23n) & 1n) === 1n) return true
    const niceLimit = /^Max nice priority\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
    return niceLimit === 'unlimited' || Number(niceLimit) >= 20
  } catch {
    return false
  }
}

/** How long events may wait behind a busy thread before it stops yielding, in ms (the p99 latency aimed at). */
export const BACKLOG_MS = 1000
/**
 * How long nothing may have waited or been in flight before a raised thread yields again, in ms. Under a
 * steady load the queue is empty whenever every waiting event has just gone out: lowered at that moment,
 * the thread fell back behind the busy threads with ~2,300 events coming after it, and their p99 went
 * from 0.37 s to 3–9 s (1,000 events/s, 2 cores, 2 busy threads).
 */
export const QUIET_MS = BACKLOG_MS
/** A timer this late means the thread is not getting a core at all. */
const STARVED_TIMER_LAG_MS = 250
/**
 * While the broker's thread is this busy (its event loop's utilization, 0–1), a backlog is a burst it is
 * still taking in: the thread keeps yielding, the queue absorbs it.
 */
export const BROKER_BUSY = 0.8
/** A backlog this old (ms) ends the yielding even while the broker's thread is busy: a load, not a burst. */
export const LONG_BACKLOG_MS = 10_000

/** The last `chrt --idle` started, settled once it has ended. */
let lowering: Promise<void> = Promise.resolve()
let lowerPending = false

/**
 * Decides, tick by tick, whether an `idle` delivery thread yields: it runs at the process's priority
 * while events have been waiting for over {@link BACKLOG_MS} (or its timers come {@link STARVED_TIMER_LAG_MS}
 * late while events wait) and the broker's thread has slack, or once they have been waiting for
 * {@link LONG_BACKLOG_MS} whatever the broker does; it yields again once nothing has waited or been in
 * flight for {@link QUIET_MS}. Raised in the middle of a burst the broker is taking in, it took the
 * broker's core (measured under aedes, 2 cores: the broker's thread waited 5.7–19 µs more per message,
 * issue 15). Coming back to the process's priority needs CAP_SYS_NICE or an RLIMIT_NICE of 20: without
 * either it is not governed at all ({@link governed}).
 */
export class PriorityGovernor {
  readonly #active: boolean
  readonly #holding: boolean
  readonly #raisePolicy: (thread: string) => void
  #raised = false
  #backlogSince: number | undefined
  #quietSince: number | undefined
  #lastTick: number | undefined

  /**
   * @param priority `deliveryPriority`: only `idle` is governed.
   * @param batched Whether events go in batches: then a request and its report carry up to
   * `batch.max_events` events, sending during a burst costs the broker little, and holding jobs back
   * cost a fifth of the batched flood's events/s (measured, issue 15): they are not held.
   * @param raisePolicy Asks the broker's thread to put this thread (its kernel id) back to SCHED_OTHER
   * ({@link raiseThreadPolicy}): a `chrt` started from this thread would inherit SCHED_IDLE, and on a busy
   * host wait seconds for a core to do it.
   */
  constructor(priority: DeliveryPriority, batched = false, raisePolicy: (thread: string) => void = () => {}) {
    this.#active = governed(priority)
    this.#holding = this.#active && !batched
    this.#raisePolicy = raisePolicy
  }

  /** Whether the thread runs at the process's priority now. */
  get raised(): boolean {
    return this.#raised
  }

  /**
   * Whether new jobs wait before they are queued: while the broker's thread is busier than
   * {@link BROKER_BUSY}, for up to {@link BACKLOG_MS}, without `batch` only. Sent meanwhile, even by a
   * thread at SCHED_IDLE, they wake the endpoint (on a small host, the same cores), and their reports come
   * back to the broker's thread: measured under aedes on 2 cores, holding them took the broker's wait for a core
   * from 4.4 to 0.7 µs per message, and its own work from 2.2 to 1.6 µs per event (issue 15).
   * @param brokerBusy Whether the broker's thread is busier than {@link BROKER_BUSY} now.
   * @param heldMs How long the oldest job held has waited, in ms (0 for none).
   */
  holds(brokerBusy: boolean, heldMs: number): boolean {
    return this.#holding && brokerBusy && heldMs < BACKLOG_MS
  }

  /**
   * @param waiting Events waiting to be sent now (not in flight).
   * @param now `Date.now()`.
   * @param intervalMs How often this is called, to tell a late timer.
   * @param brokerBusy Whether the broker's thread is busier than {@link BROKER_BUSY} now.
   * @param working Whether events are in flight, or came, since the last call.
   * @param raisedShared Whether the shared counters say the thread runs at the process's priority: when the
   * broker's thread raised it ({@link StarvationGuard}), the governor takes that over as its own raise.
   */
  tick(
    waiting: number,
    now: number,
    intervalMs: number,
    brokerBusy = false,
    working = false,
    raisedShared = false,
  ): void {
    if (!this.#active) return
    const lag = this.#lastTick === undefined ? 0 : now - this.#lastTick - intervalMs
    this.#lastTick = now
    if (raisedShared && !this.#raised) {
      this.#raised = true
      // A `chrt --idle` of this thread's still on its way would undo the broker's: asked for again after it.
      if (lowerPending) this.#raise()
    }
    if (waiting > 0 || working) this.#quietSince = undefined
    else this.#quietSince ??= now
    if (waiting === 0) {
      this.#backlogSince = undefined
      if (this.#raised && this.#quietSince !== undefined && now - this.#quietSince >= QUIET_MS) {
        this.#raised = false
        lower()
      }
      return
    }
    this.#backlogSince ??= now
    if (this.#raised) return
    const waited = now - this.#backlogSince
    const behind = waited > BACKLOG_MS || lag > STARVED_TIMER_LAG_MS
    if ((behind && !brokerBusy) || waited > LONG_BACKLOG_MS) {
      this.#raised = true
      this.#raise()
    }
  }

  /** Back to the process's priority: nice 0 at once, then SCHED_OTHER by the broker's thread. */
  #raise(): void {
    try {
      setPriority(0, 0)
    } catch {
      return // no CAP_SYS_NICE: a lowered thread cannot come back
    }
    const thread = threadId()
    if (thread === undefined) return
    // A `chrt --idle` still on its way would undo the raise: the policy is asked for after it.
    void lowering.then(() => {
      if (this.#raised) this.#raisePolicy(thread)
    })
  }
}

/**
 * Puts a thread of this process (its kernel id) back to SCHED_OTHER, from the broker's thread: a process
 * started there runs at the broker's priority, and does it in milliseconds even while busy threads hold
 * every core (started from the SCHED_IDLE thread itself, it took seconds).
 */
export function raiseThreadPolicy(thread: string): void {
  if (process.platform !== 'linux' || !/^\d+$/.test(thread)) return
  execFile('chrt', ['--other', '--pid', '0', thread], { timeout: 5000 }, () => {})
}

/** Nice 19, then SCHED_IDLE where util-linux's `chrt` is there. */
function lower(): void {
  try {
    setPriority(0, LOWEST_NICENESS)
  } catch {
    return
  }
  // Measured under aedes on 2 cores: the broker's thread waited for a core 6–9% of its time with this
  // thread at SCHED_IDLE, 8–9% at nice 19, 12–22% at nice 10. A core that runs only SCHED_IDLE work counts
  // as free when a thread wakes, so the collector's helpers and the endpoint go there rather than preempt
  // the broker. Node has no call for the policy; util-linux's `chrt` sets it for this thread alone.
  const thread = threadId()
  if (thread === undefined) return
  lowerPending = true
  lowering = new Promise((resolve) => {
    execFile('chrt', ['--idle', '--pid', '0', thread], { timeout: 5000 }, () => {
      lowerPending = false
      resolve()
    })
  })
}

/** A delivery thread whose governor has not run for this long (ms) while events come gets no core at all. */
export const SILENT_GOVERNOR_MS = 500

/**
 * The broker's thread's watch over an `idle` delivery thread too starved to raise itself: at SCHED_IDLE,
 * while busy threads hold every core, its governor's timer may not run for seconds (measured: 3 s at
 * 1,000 events/s beside 2 busy threads on 2 cores; over 15 s beside 6). Checked as jobs are handed over,
 * with the broker's load, so an idle broker pays nothing; it raises the thread as its governor would
 * (which then takes over, and lowers it once delivery is quiet), at most once per {@link SILENT_GOVERNOR_MS}.
 */
export class StarvationGuard {
  readonly #counters: Float64Array
  readonly #active: boolean
  #raisedAt = Number.NEGATIVE_INFINITY

  /** @param counters The shared counters (`Counter`). */
  constructor(counters: Float64Array, priority: DeliveryPriority) {
    this.#counters = counters
    this.#active = governed(priority)
  }

  /**
   * @param now `Date.now()`.
   * @param load The broker's thread's utilization (0–1) just measured: while it is over
   * {@link BROKER_BUSY} a backlog is a burst, left to the queue as the governor leaves it.
   */
  check(now: number, load: number): void {
    if (!this.#active || load > BROKER_BUSY) return
    const counters = this.#counters
    const tickAt = counters[Counter.tickAt] ?? 0
    const thread = counters[Counter.thread] ?? 0
    if (counters[Counter.raised] === 1 || tickAt === 0 || thread === 0) return
    if (now - tickAt <= SILENT_GOVERNOR_MS || now - this.#raisedAt <= SILENT_GOVERNOR_MS) return
    try {
      setPriority(thread, 0)
    } catch {
      return // no CAP_SYS_NICE, or the thread has ended
    }
    this.#raisedAt = now
    counters[Counter.raised] = 1
    raiseThreadPolicy(String(thread))
  }
}

/** The kernel's id of the calling thread (not Node's `threadId`). */
export function threadId(): string | undefined {
  try {
    return readlinkSync('/proc/thread-self').split('/').pop()
  } catch {
    return undefined
  }
}

/**
 * The broker's thread's half of the governor: how busy its event loop is, measured as jobs are handed over
 * (an idle broker pays nothing), at most every {@link LOAD_SAMPLE_MS}.
 */
export class BrokerLoadSampler {
  #last: EventLoopUtilization | undefined
  #lastAt = Number.NEGATIVE_INFINITY

  /**
   * @param now `performance.now()`.
   * @returns The utilization (0–1) since the previous measure, or `undefined` when none is due. Only a window
   * between hand-overs close together (under {@link LOAD_STALE_MS}) measures a flow of events: the first
   * hand-over, or the first after a quiet spell, opens one. Measured from the webhook's creation, the
   * process's own start-up work read as a burst and held its first event back ~500 ms (issue 14).
   */
  sample(now: number, elu: EventLoopUtilization = performance.eventLoopUtilization()): number | undefined {
    const age = now - this.#lastAt
    if (age < LOAD_SAMPLE_MS) return undefined
    const last = this.#last
    this.#last = elu
    this.#lastAt = now
    if (age >= LOAD_STALE_MS || last === undefined) return undefined
    return performance.eventLoopUtilization(elu, last).utilization
  }
}
