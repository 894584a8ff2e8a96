import type { Logger, Webhook, WebhookStats } from '../webhook-types.ts'

export interface StatusReporter {
  /** Stops reporting. */
  stop(): void
}

/**
 * `matched 12  delivered 9  failed 2 (http_5xx 2)  dropped 1 (closed 1)  queued 0`: the failure and drop
 * reasons when any.
 */
export function formatStats(stats: WebhookStats): string {
  return [
    `matched ${stats.matched}`,
    `delivered ${stats.success}`,
    `failed ${stats.failed}${byReason(stats.failed_by_reason ?? {})}`,
    `dropped ${stats.dropped}${byReason(stats.dropped_by_reason)}`,
    `queued ${stats.queued + stats.inflight}`,
  ].join('  ')
}

/** ` (queue_full 2, closed 1)`, the non-zero counts; empty when there are none. */
function byReason(counts: Partial<Record<string, number>>): string {
  const reasons = Object.entries(counts)
    .filter(([, count]) => (count ?? 0) > 0)
    .map(([reason, count]) => `${reason} ${count}`)
  return reasons.length > 0 ? ` (${reasons.join(', ')})` : ''
}

/**
 * Logs `stats ...` at info every `intervalMs`, only when a number changed, so that an idle broker logs
 * nothing; the numbers are also fields of the line.
 */
export function startStatus(webhook: Webhook, logger: Logger, intervalMs: number): StatusReporter {
  let last = ''
  const report = () => {
    const stats = webhook.stats()
    const line = formatStats(stats)
    if (line !== last)
      logger.info(
        {
          matched: stats.matched,
          delivered: stats.success,
          failed: stats.failed,
          dropped: stats.dropped,
          queued: stats.queued + stats.inflight,
        },
        `stats ${line}`,
      )
    last = line
  }
  const timer = setInterval(report, intervalMs)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
    },
  }
}
