/**
 * `mqtt-webhook replay`: sends the dead letters of a SQLite queue store again, with their original body and
 * `webhook-id`, through the webhook of the config file.
 */

import type { LevelWithSilent } from 'pino'
import { HOOK_EVENT_NAMES, type HookEventName } from '../events.ts'
import { createWebhook } from '../webhook.ts'
import {
  type CommandSpec,
  EXIT,
  parseCommand,
  parseDuration,
  readConfigFlag,
  UsageError,
  usage,
} from './args.ts'
import { createCliLogger, LOG_LEVELS, say } from './log.ts'
import { QUEUE_FLAG, storePath, withQueueFlag } from './queue.ts'
import { formatStats } from './status.ts'

export const REPLAY: CommandSpec = {
  name: 'replay',
  synopsis: '--config FILE [options]',
  description: `Sends the dead letters of the webhook's SQLite queue store again (events that failed for good:
after retry.max_attempts, or a 4xx answer), each with its original body and webhook-id, then exits: 0 when
all were delivered, 1 when some failed again (they stay dead letters).

Run it while no broker uses the store: it also delivers the events waiting there, which a running broker
would deliver too. In a running process, call webhook.replay() instead.`,
  flags: {
    config: { type: 'string', value: 'FILE', help: 'webhook configuration (required)' },
    queue: { ...QUEUE_FLAG, help: "the store file, in place of FILE's queue setting" },
    since: {
      type: 'string',
      value: 'TIME',
      help: 'only those that failed at or after TIME: an ISO date, ms since the epoch, or an age (30s, 15m, 2h, 7d)',
    },
    event: { type: 'string', value: 'NAME', help: 'only this event (on_message_publish...)' },
    'drain-timeout': {
      type: 'string',
      value: 'DURATION',
      default: '30s',
      help: 'longest wait for the deliveries',
    },
    'log-level': { type: 'string', value: 'LEVEL', default: 'warn', help: `${LOG_LEVELS.join(', ')}` },
  },
}

/** `mqtt-webhook replay ...` */
export async function runReplay(argv: string[]): Promise<void> {
  const { help, values } = parseCommand(REPLAY, argv)
  if (help) return say(usage(REPLAY))
  const since = values.since === undefined ? undefined : parseSince(String(values.since), Date.now())
  const event = values.event === undefined ? undefined : parseEvent(String(values.event))
  const drainTimeout = parseDuration('--drain-timeout', String(values['drain-timeout']), { allowZero: true })
  const level = String(values['log-level'])
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`, usage(REPLAY))
  const config = withQueueFlag(
    readConfigFlag(values.config as string | undefined, REPLAY),
    values.queue as string | undefined,
  )
  const path = storePath(config, REPLAY)

  const webhook = createWebhook(config, {
    logger: createCliLogger({ level: level as LevelWithSilent, stream: process.stderr }),
  })
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
