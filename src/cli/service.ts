/**
 * What `broker` and `proxy` share: their common flags, the logger, the status and failure lines, the
 * metrics server, and the way they stop.
 */
import { once } from 'node:events'
import type { Server } from 'node:net'
import type { LevelWithSilent, Logger } from 'pino'
import { resolveConfig } from '../config.ts'
import type { WebhookConfig } from '../config-types.ts'
import { RateLimitedWarner } from '../rate-limited-warner.ts'
import { redactUrl } from '../security/redact.ts'
import { createWebhook } from '../webhook.ts'
import type { Webhook } from '../webhook-types.ts'
import {
  type CommandSpec,
  EXIT,
  type FlagSpec,
  type FlagValues,
  formatDuration,
  formatHost,
  parseDuration,
  parsePort,
  readConfigFlag,
  UsageError,
  usage,
} from './args.ts'
import { createCliLogger, LOG_LEVELS } from './log.ts'
import { stopOnSignal } from './shutdown.ts'
import { formatStats, startStatus } from './status.ts'

/** The flags of every command that runs a webhook. */
export const SERVICE_FLAGS: Record<string, FlagSpec> = {
  config: {
    type: 'string',
    value: 'FILE',
    help: 'webhook configuration: a nanomq.conf, web.hook.* lines or JSON (required)',
  },
  'log-level': { type: 'string', value: 'LEVEL', default: 'info', help: `${LOG_LEVELS.join(', ')}` },
  'status-interval': {
    type: 'string',
    value: 'DURATION',
    default: '5s',
    help: 'how often counts and failure summaries are logged',
  },
  'drain-timeout': {
    type: 'string',
    value: 'DURATION',
    default: '10s',
    help: 'longest wait for the queue when stopping',
  },
  'metrics-port': {
    type: 'string',
    value: 'PORT',
    help: 'serve Prometheus /metrics and /healthz on this port (needs prom-client)',
  },
  'metrics-host': {
    type: 'string',
    value: 'HOST',
    default: '127.0.0.1',
    help: 'address of the metrics server',
  },
}

export interface ServiceSettings {
  config: WebhookConfig
  logLevel: LevelWithSilent
  statusIntervalMs: number
  drainTimeoutMs: number
  metrics: { host: string; port: number } | undefined
}

/** Checks the shared flags; the config file is read last, so that flag mistakes are reported first. */
export function readServiceFlags(spec: CommandSpec, values: FlagValues): ServiceSettings {
  const level = String(values['log-level'])
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`, usage(spec))
  const statusIntervalMs = parseDuration('--status-interval', String(values['status-interval']))
  const drainTimeoutMs = parseDuration('--drain-timeout', String(values['drain-timeout']), {
    allowZero: true,
  })
  const metricsPort = values['metrics-port']
  const metrics =
    metricsPort === undefined
      ? undefined
      : { host: String(values['metrics-host']), port: parsePort('--metrics-port', String(metricsPort)) }
  const config = readConfigFlag(values.config as string | undefined, spec)
  return { config, logLevel: level as LevelWithSilent, statusIntervalMs, drainTimeoutMs, metrics }
}

/** What a command started around the webhook (a broker, a proxy). */
export interface ServiceParts {
  /** Stops taking clients and drains the webhook for at most `drainTimeoutMs`. */
  close(drainTimeoutMs: number): Promise<void>
  /** Logged once everything listens, e.g. `mqtt-webhook proxy listening on ...`. */
  listening: { message: string; fields: Record<string, unknown> }
}

/**
 * Creates the logger and the webhook, starts the command's parts around it, then logs until a signal:
 * SIGINT, SIGTERM and SIGHUP drain the queue for at most `--drain-timeout`, log the `stopped` line, and
 * exit 0, or 3 when any event was dropped.
 */
export async function runService(
  settings: ServiceSettings,
  start: (webhook: Webhook, logger: Logger) => Promise<ServiceParts>,
): Promise<void> {
  const logger = createCliLogger({ level: settings.logLevel })
  const webhook = createWebhook(settings.config, { logger })
  const failures = watchFailures(webhook, logger, settings.statusIntervalMs)
  let parts: ServiceParts
  let metrics: Awaited<ReturnType<typeof import('./metrics-server.ts').startMetricsServer>> | undefined
  try {
    if (settings.metrics !== undefined) {
      const { startMetricsServer } = await import('./metrics-server.ts')
      // The limit /healthz compares with is the webhook's own, defaults included.
      const { maxQueue } = resolveConfig(settings.config)
      metrics = await startMetricsServer({ webhook, maxQueue, ...settings.metrics })
    }
    parts = await start(webhook, logger)
  } catch (error) {
    failures.stop()
    await metrics?.close()
    await webhook.close({ timeout_ms: 0 })
    throw error
  }
  // Ready for signals before saying so: whoever reads the line may signal at once.
  const status = startStatus(webhook, logger, settings.statusIntervalMs)
  stopOnSignal(logger, async (signal) => {
    status.stop()
    logger.info(
      { signal, drain_timeout_ms: settings.drainTimeoutMs },
      `stopping on ${signal}: draining the webhook queue (at most ${formatDuration(settings.drainTimeoutMs)})`,
    )
    await parts.close(settings.drainTimeoutMs)
    await webhook.close({ timeout_ms: settings.drainTimeoutMs })
    failures.stop()
    await metrics?.close()
    const stats = webhook.stats()
    logger.info({ stats }, `stopped  ${formatStats(stats)}`)
    return stats.dropped > 0 ? EXIT.dropped : EXIT.ok
  })
  logger.info(parts.listening.fields, parts.listening.message)
  if (metrics !== undefined)
    logger.info({ url: metrics.url }, `metrics on ${metrics.url}/metrics and /healthz`)
  logger.info(describeWebhook(settings.config))
}

/**
 * Every failed or dropped event, logged at warn with its reason, rate-limited per reason. Listening to the
 * reports makes the webhook keep each event until it is reported: the price of naming the reason.
 */
function watchFailures(webhook: Webhook, logger: Logger, intervalMs: number): { stop(): void } {
  const warner = new RateLimitedWarner({ logger, intervalMs })
  webhook.on('failed', (report) => {
    const reason = report.status !== undefined ? `status ${report.status}` : (report.code ?? 'error')
    const fields = {
      event: report.event.event,
      attempts: report.attempts,
      status: report.status,
      code: report.code,
    }
    warner.warn(`failed ${reason}`, { ...fields, reason }, report.message, {
      obj: { reason },
      msg: (count, seconds) =>
        `${count} events failed (${reason}) in the last ${seconds} s: ${report.message}`,
    })
  })
  webhook.on('dropped', (report) => {
    const reason = report.reason
    warner.warn(
      `dropped ${reason}`,
      { event: report.event.event, attempts: report.attempts, reason: `dropped ${reason}` },
      `event dropped before delivery (${reason})`,
      {
        obj: { reason: `dropped ${reason}` },
        msg: (count, seconds) =>
          `${count} events dropped before delivery (${reason}) in the last ${seconds} s`,
      },
    )
  })
  return { stop: () => warner.close() }
}

/** `posting on_message_publish, on_client_connack to http://127.0.0.1:8080/hook` (credentials hidden). */
export function describeWebhook(config: WebhookConfig): string {
  if (config.enable === false && config.events?.length === 0)
    return 'webhook off: the file lists no rules (EMQX ships them commented out): nothing will be posted'
  if (config.enable === false) return 'webhook disabled (enable = false): nothing will be posted'
  const events = [...new Set((config.events ?? []).map((rule) => rule.event))].join(', ')
  return `posting ${events} to ${redactUrl(config.url ?? '')}`
}

/** Listens; a listen error (EADDRINUSE...) rejects with one line that names the address. */
export async function listen(
  server: Pick<Server, 'listen'> & NodeJS.EventEmitter,
  host: string,
  port: number,
): Promise<void> {
  server.listen(port, host)
  try {
    await once(server, 'listening')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new Error(`cannot listen on ${formatHost(host)}:${port} (${code})`)
  }
}
