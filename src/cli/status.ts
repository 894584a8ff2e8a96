import type { Logger, Webhook, WebhookStats } from '../webhook-types.ts'

export interface StatusReporter {
  /** Stops reporting. */
  stop(): void
}

/** `matched 12  delivered 11  failed 0  dropped 1 (closed 1)  queued 0`: the drop reasons when any. */
export function formatStats(stats: WebhookStats): string {
  const reasons = Object.entries(stats.dropped_by_reason)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
  return [
    `matched ${stats.matched}`,
    `delivered ${stats.success}`,
    `failed ${stats.failed}`,
    `dropped ${stats.dropped}${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`,
    `queued ${stats.queued + stats.inflight}`,
  ].join('  ')
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
