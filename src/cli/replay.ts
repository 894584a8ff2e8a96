/**
 * `mqtt-webhook replay`: sends the dead letters of a SQLite queue store again, with their original body and
 * `webhook-id`, through the webhook of the config file.
 */
import { HOOK_EVENT_NAMES, type HookEventName } from '../events.ts'
import { createWebhook } from '../webhook.ts'
import { EXIT, parseFlags, parsePositive, readConfigFlag, UsageError } from './args.ts'
import { cliLogger, say } from './log.ts'
import { storePath, withQueueFlag } from './queue.ts'
import { formatStats } from './status.ts'

export const REPLAY_USAGE = `Usage: mqtt-webhook replay --config FILE [options]

Sends the dead letters of the webhook's SQLite queue store again (events that failed for good: after
retry.max_attempts, or a 4xx answer), each with its original body and webhook-id, then exits: 0 when all
were delivered, 1 when some failed again (they stay dead letters).

Run it while no broker uses the store: it also delivers the events waiting there, which a running broker
would deliver too. In a running process, call webhook.replay() instead.

Options:
  --config FILE            webhook configuration (required)
  --queue sqlite:PATH      the store file, in place of FILE's queue setting
  --since TIME             only those that failed at or after TIME: an ISO date (2026-01-31T12:00Z),
                           milliseconds since the epoch, or an age (30s, 15m, 2h, 7d)
  --event NAME             only this event (on_message_publish...)
  --drain-timeout MS       longest wait for the deliveries (default 30000)
  --verbose                debug lines from the webhook
  -h, --help               this help`

/** `mqtt-webhook replay ...` */
export async function runReplay(argv: string[]): Promise<void> {
  const flags = parseFlags('replay', argv, {
    config: { type: 'string' },
    queue: { type: 'string' },
    since: { type: 'string' },
    event: { type: 'string' },
    'drain-timeout': { type: 'string', default: '30000' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  })
  if (flags.help) return say(REPLAY_USAGE)
  const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now())
  const event = flags.event === undefined ? undefined : parseEvent(flags.event)
  const drainTimeout = parsePositive('--drain-timeout', flags['drain-timeout'])
  const config = withQueueFlag(readConfigFlag(flags.config, 'replay'), flags.queue)
  const path = storePath(config, 'replay')

  const webhook = createWebhook(config, { logger: cliLogger(flags.verbose) })
  let problem: Error | undefined
  webhook.on('error', (error) => {
    problem ??= error
  })
  // The store reports a file it could not open after a turn.
  await new Promise((resolve) => setImmediate(resolve))
  if (problem !== undefined) {
    await webhook.close({ timeout_ms: 0 })
    throw new Error(problem.message)
  }
  const replayed = webhook.replay({
    ...(since === undefined ? {} : { since }),
    ...(event === undefined ? {} : { event }),
  })
  const recovered = webhook.stats().store?.recovered ?? 0
  say(
    `replaying ${replayed} dead letters from ${path}${recovered > 0 ? ` (and ${recovered} waiting events)` : ''}`,
  )
  await Promise.race([webhook.flush(), new Promise((resolve) => setTimeout(resolve, drainTimeout).unref())])
  await webhook.close({ timeout_ms: 0 })
  const stats = webhook.stats()
  say(`done     ${formatStats(stats)}  dead ${stats.store?.dead ?? 0}`)
  if (stats.failed > 0 || stats.dropped > 0) process.exitCode = EXIT.failure
}

/** An ISO date, milliseconds since the epoch, or an age (`30s`, `15m`, `2h`, `7d`): ms since the epoch. */
export function parseSince(value: string, now: number): number {
  const age = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value)
  if (age) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd']
    return now - Number(age[1]) * unit
  }
  if (/^\d+$/.test(value)) return Number(value)
  const date = Date.parse(value)
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(date)) return date
  throw new UsageError(
    `--since must be an ISO date, milliseconds since the epoch, or an age like 30m, got '${value}'`,
  )
}

function parseEvent(value: string): HookEventName {
  if ((HOOK_EVENT_NAMES as readonly string[]).includes(value)) return value as HookEventName
  throw new UsageError(`--event must be an event name (${HOOK_EVENT_NAMES.join(', ')}), got '${value}'`)
}
