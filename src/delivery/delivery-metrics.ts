/**
 * What the dispatcher counts of each event's outcome, by event name and reason, and how long each HTTP
 * attempt took (a Prometheus-style histogram). Kept in a flat Float64Array so that, on the delivery thread,
 * it lives in the shared counters the broker's thread reads (`thread-protocol.ts`): nothing to post,
 * nothing allocated per attempt. The totals (`success`, `failed`, `failed_by_reason`...) are sums of the
 * cells by event, read at once, so that a scrape sees every total equal to the sum of its labels.
 */
import { HOOK_EVENT_NAMES, type HookEventName } from '../events.ts'
import { isCertificateError } from '../security/tls.ts'
import type { DropReason, FailureReason, RequestDurationStats, WebhookStats } from '../webhook-types.ts'
import type { AttemptOutcome } from './retry.ts'

/**
 * Upper bounds of the request duration buckets, in seconds (prom-client's and the Prometheus clients'
 * defaults: they span a loopback answer to a `cancel_timeout` of 10 s). Fixed, so that observing is a
 * dozen comparisons.
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

/** Every failure reason, in the order of their cells. */
export const FAILURE_REASONS: readonly FailureReason[] = Object.freeze([
  'http_4xx',
  'http_5xx',
  'http_other',
  'timeout',
  'network',
  'tls',
  'other',
])

/** Every drop reason, in the order of their cells (and of `DROP_REASONS` in `thread-protocol.ts`). */
const DROP_REASON_CELLS: readonly DropReason[] = ['queue_full', 'closed', 'queue_bytes_full']

/**
 * A job's event name as a small integer (its index in `HOOK_EVENT_NAMES`): what a job carries across the
 * threads, rather than a string.
 */
export function eventIndex(name: HookEventName): number {
  return EVENT_INDEX.get(name) ?? 0
}
const EVENT_INDEX: ReadonlyMap<HookEventName, number> = new Map(HOOK_EVENT_NAMES.map((name, i) => [name, i]))

/**
 * Cells: one per bucket and one past the last bound (not cumulative), the sum; then per event name
 * (`eventIndex`): delivered, retried, one per failure reason, one per drop reason.
 */
const SUM_AT = REQUEST_DURATION_BUCKETS.length + 1
const EVENTS_AT = SUM_AT + 1
const DELIVERED = 0
const RETRIED = 1
const FAILED_AT = 2
const DROPPED_AT = FAILED_AT + FAILURE_REASONS.length
const PER_EVENT = DROPPED_AT + DROP_REASON_CELLS.length
export const DELIVERY_METRICS_CELLS = EVENTS_AT + HOOK_EVENT_NAMES.length * PER_EVENT

/** What `DeliveryMetrics.read` gives: the outcome counts, totals and by event name, and the durations. */
export type DeliveryCounts = Required<
  Pick<
    WebhookStats,
    | 'failed_by_reason'
    | 'request_duration_seconds'
    | 'delivered_by_event'
    | 'retried_by_event'
    | 'failed_by_event'
    | 'dropped_by_event'
  >
> &
  Pick<WebhookStats, 'success' | 'failed' | 'retried' | 'dropped' | 'dropped_by_reason'>

/** Error codes of an attempt cut by its deadline (ours is `ETIMEDOUT`; the others are Node's and undici's). */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/** undici's and axios' codes of a connection that failed under a request. */
const NETWORK_CODES: ReadonlySet<string> = new Set(['ERR_NETWORK', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])

/**
 * The bounded reason label of a failed event: the class of its last HTTP status, or the kind of its last
 * error (a handshake or certificate error is `tls`; a system error such as `ECONNREFUSED` is `network`).
 */
export function failureReason({ status, code }: AttemptOutcome): FailureReason {
  if (status !== undefined) return status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'http_other'
  if (code === undefined) return 'other'
  if (TIMEOUT_CODES.has(code)) return 'timeout'
  if (
    isCertificateError(code) ||
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_')
  )
    return 'tls'
  // errno-style codes (ECONNREFUSED, ECONNRESET, ENOTFOUND, EAI_AGAIN...), the socket's own, and undici's
  // for a connection that closed under a request (a reset, "other side closed").
  if (/^E(?!RR_)[A-Z0-9_]+$/.test(code) || code.startsWith('ERR_SOCKET_') || NETWORK_CODES.has(code))
    return 'network'
  return 'other'
}

export class DeliveryMetrics {
  /** @param cells Where to keep them: a view of the shared counters on the delivery thread. */
  constructor(readonly cells: Float64Array = new Float64Array(DELIVERY_METRICS_CELLS)) {}

  /** One attempt of `ms` milliseconds, whatever its outcome. */
  observe(ms: number): void {
    const seconds = ms / 1000
    const cells = this.cells
    let i = 0
    while (i < REQUEST_DURATION_BUCKETS.length && seconds > (REQUEST_DURATION_BUCKETS[i] as number)) i++
    cells[i] = (cells[i] as number) + 1
    cells[SUM_AT] = (cells[SUM_AT] as number) + seconds
  }

  /** One event delivered; `event` is its `eventIndex`. */
  delivered(event: number): void {
    this.#add(event, DELIVERED, 1)
  }

  /** One event's attempt to be retried. */
  retried(event: number): void {
    this.#add(event, RETRIED, 1)
  }

  /** One event given up on (or `count` of them), for the reason of its last attempt. */
  failed(outcome: AttemptOutcome, event: number, count = 1): void {
    this.#add(event, FAILED_AT + FAILURE_REASONS.indexOf(failureReason(outcome)), count)
  }

  /** One event dropped (or `count` of them). */
  dropped(reason: DropReason, event: number, count = 1): void {
    this.#add(event, DROPPED_AT + DROP_REASON_CELLS.indexOf(reason), count)
  }

  #add(event: number, cell: number, count: number): void {
    const at = EVENTS_AT + event * PER_EVENT + cell
    this.cells[at] = (this.cells[at] as number) + count
  }

  /**
   * The counts of `cells` (read on either thread), plus the outcomes of `more` (another instance's cells,
   * counted elsewhere). Buckets are cumulated here, from per-bucket cells, so that a read racing the
   * delivery thread's writes still sees them non-decreasing and the last equal to the count. By event
   * name: the names with any count, each with every reason.
   */
  static read(cells: Float64Array, more?: Float64Array): DeliveryCounts {
    const counts: DeliveryCounts = {
      success: 0,
      failed: 0,
      retried: 0,
      dropped: 0,
      failed_by_reason: { ...NO_FAILURES },
      dropped_by_reason: { ...NO_DROPS },
      delivered_by_event: {},
      retried_by_event: {},
      failed_by_event: {},
      dropped_by_event: {},
      request_duration_seconds: durations(cells),
    }
    // One copy of the cells by event, read once: the totals are the sums of what the labels show.
    const values = cells.slice(EVENTS_AT)
    if (more !== undefined)
      for (let i = 0; i < values.length; i++)
        values[i] = (values[i] as number) + (more[EVENTS_AT + i] as number)
    for (let e = 0; e < HOOK_EVENT_NAMES.length; e++) {
      const at = e * PER_EVENT
      let any = false
      for (let i = at; i < at + PER_EVENT && !any; i++) any = values[i] !== 0
      if (!any) continue
      const name = HOOK_EVENT_NAMES[e] as HookEventName
      const delivered = values[at + DELIVERED] as number
      const retried = values[at + RETRIED] as number
      counts.delivered_by_event[name] = delivered
      counts.retried_by_event[name] = retried
      counts.success += delivered
      counts.retried += retried
      counts.failed_by_event[name] = byReason(
        values,
        at + FAILED_AT,
        FAILURE_REASONS,
        counts.failed_by_reason,
      )
      counts.dropped_by_event[name] = byReason(
        values,
        at + DROPPED_AT,
        DROP_REASON_CELLS,
        counts.dropped_by_reason,
      )
    }
    counts.failed = sum(counts.failed_by_reason)
    counts.dropped = sum(counts.dropped_by_reason)
    return counts
  }
}

function zeros<K extends string>(keys: readonly K[]): Readonly<Record<K, number>> {
  return Object.freeze(Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>)
}

/** One event's counts by reason, from its cells at `from`, added to `totals` as they are read. */
function byReason<R extends string>(
  values: Float64Array,
  from: number,
  reasons: readonly R[],
  totals: Record<R, number>,
): Record<R, number> {
  const counts = { ...zeros(reasons) } as Record<R, number>
  for (let i = 0; i < reasons.length; i++) {
    const reason = reasons[i] as R
    const value = values[from + i] as number
    counts[reason] = value
    totals[reason] += value
  }
  return counts
}

function sum(counts: Record<string, number>): number {
  let total = 0
  for (const value of Object.values(counts)) total += value
  return total
}

/** Copied by spreading: a literal's shape, which a record built key by key does not get. */
const NO_FAILURES = zeros(FAILURE_REASONS)
const NO_DROPS = zeros(DROP_REASON_CELLS)

function durations(cells: Float64Array): RequestDurationStats {
  const counts: number[] = []
  let total = 0
  for (let i = 0; i < REQUEST_DURATION_BUCKETS.length; i++) {
    total += cells[i] as number
    counts.push(total)
  }
  total += cells[REQUEST_DURATION_BUCKETS.length] as number
  return { buckets: [...REQUEST_DURATION_BUCKETS], counts, sum: cells[SUM_AT] as number, count: total }
}
