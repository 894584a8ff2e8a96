import type { Webhook, WebhookStats } from '../webhook-types.ts'

export interface StatusOptions {
  /**
   * Seconds between two reports.
   * @default 5
   */
  intervalSeconds?: number
  /**
   * Where the reports go.
   * @default process.stdout
   */
  stream?: NodeJS.WriteStream
}

export interface StatusReporter {
  /** Stops reporting; on a terminal, ends the status line. */
  stop(): void
}

/** `matched 12  delivered 11  failed 0  dropped 0  queued 1` */
export function formatStats(stats: WebhookStats): string {
  return [
    `matched ${stats.matched}`,
    `delivered ${stats.success}`,
    `failed ${stats.failed}`,
    `dropped ${stats.dropped}`,
    `queued ${stats.queued + stats.inflight}`,
  ].join('  ')
}

/**
 * On a terminal, one status line rewritten in place every few seconds; elsewhere (a pipe, a log file,
 * systemd), a plain `stats ...` line, only when something changed, so that an idle broker logs nothing.
 */
export function startStatus(webhook: Webhook, options: StatusOptions = {}): StatusReporter {
  const stream = options.stream ?? process.stdout
  const onTerminal = stream.isTTY === true
  let last = ''
  const report = () => {
    const line = formatStats(webhook.stats())
    if (onTerminal) stream.write(`\r\x1b[2K${line}`)
    else if (line !== last) stream.write(`stats ${line}\n`)
    last = line
  }
  const timer = setInterval(report, (options.intervalSeconds ?? 5) * 1000)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
      if (onTerminal && last !== '') stream.write('\n')
    },
  }
}
