/**
 * What the dispatcher measures beyond its counts: how long each HTTP attempt took (a Prometheus-style
 * histogram) and why each failed event failed. Kept in a flat Float64Array so that, on the delivery
 * thread, it lives in the shared counters the broker's thread reads (`thread-protocol.ts`): nothing to
 * post, nothing allocated per attempt.
 */
import { isCertificateError } from '../security/tls.ts'
import type { FailureReason, RequestDurationStats } from '../webhook-types.ts'
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

const OTHER = FAILURE_REASONS.indexOf('other')
/** Cells: one per failure reason, one per bucket and one past the last bound (not cumulative), the sum. */
const BUCKETS_AT = FAILURE_REASONS.length
const SUM_AT = BUCKETS_AT + REQUEST_DURATION_BUCKETS.length + 1
export const DELIVERY_METRICS_CELLS = SUM_AT + 1

/** Error codes of an attempt cut by its deadline (ours is `ETIMEDOUT`; the others are Node's and undici's). */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/**
 * The bounded reason label of a failed event: the class of its last HTTP status, or the kind of its last
 * error (a handshake or certificate error is `tls`; a system error such as `ECONNREFUSED` is `network`).
 */
export function failureReason(outcome: AttemptOutcome): FailureReason {
  return FAILURE_REASONS[reasonIndex(outcome)] as FailureReason
}

function reasonIndex({ status, code }: AttemptOutcome): number {
  if (status !== undefined) return status >= 500 ? 1 : status >= 400 ? 0 : 2
  if (code === undefined) return OTHER
  if (TIMEOUT_CODES.has(code)) return 3
  if (
    isCertificateError(code) ||
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_')
  )
    return 5
  // errno-style codes (ECONNREFUSED, ECONNRESET, ENOTFOUND, EAI_AGAIN...) and the socket's own.
  if (/^E(?!RR_)[A-Z0-9_]+$/.test(code) || code.startsWith('ERR_SOCKET_') || code === 'ERR_NETWORK') return 4
  return OTHER
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
    cells[BUCKETS_AT + i] = (cells[BUCKETS_AT + i] as number) + 1
    cells[SUM_AT] = (cells[SUM_AT] as number) + seconds
  }

  /** One event given up on, for the reason of its last attempt. */
  failed(outcome: AttemptOutcome): void {
    const at = reasonIndex(outcome)
    this.cells[at] = (this.cells[at] as number) + 1
  }

  /**
   * The counts of `cells` (read on either thread). Buckets are cumulated here, from per-bucket cells, so
   * that a read racing the delivery thread's writes still sees them non-decreasing and the last equal to
   * the count.
   */
  static read(
    cells: Float64Array,
    otherFailures = 0,
  ): { failed_by_reason: Record<FailureReason, number>; request_duration_seconds: RequestDurationStats } {
    const failed = {} as Record<FailureReason, number>
    FAILURE_REASONS.forEach((reason, i) => {
      failed[reason] = (cells[i] as number) + (i === OTHER ? otherFailures : 0)
    })
    const counts: number[] = []
    let total = 0
    for (let i = 0; i < REQUEST_DURATION_BUCKETS.length; i++) {
      total += cells[BUCKETS_AT + i] as number
      counts.push(total)
    }
    total += cells[BUCKETS_AT + REQUEST_DURATION_BUCKETS.length] as number
    return {
      failed_by_reason: failed,
      request_duration_seconds: {
        buckets: [...REQUEST_DURATION_BUCKETS],
        counts,
        sum: cells[SUM_AT] as number,
        count: total,
      },
    }
  }
}
