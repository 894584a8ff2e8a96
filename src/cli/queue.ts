/**
 * `mqtt-webhook queue`: what waits in a SQLite queue store and what is dead there, read without disturbing a
 * broker that is using it (a WAL reader). Also `--queue sqlite:PATH`, the flag that the broker, proxy and
 * replay commands take.
 */
import { existsSync } from 'node:fs'
import { resolveConfig } from '../config.ts'
import type { WebhookConfig } from '../config-types.ts'
import { type StoreSummary, summarizeSqliteStore } from '../delivery/store/inspect.ts'
import { WebhookConfigError } from '../errors.ts'
import { parseFlags, readConfigFlag, UsageError } from './args.ts'
import { say } from './log.ts'

export const QUEUE_USAGE = `Usage: mqtt-webhook queue --config FILE [options]

Shows what waits in the webhook's SQLite queue store (queue { store = sqlite, path = ... } in FILE,
or --queue) and its dead letters: events that failed for good, which 'mqtt-webhook replay' sends again.

Options:
  --config FILE            webhook configuration (required)
  --queue sqlite:PATH      the store file, in place of FILE's queue setting
  --limit N                dead letters listed, newest first (default 20)
  --json                   one JSON object instead of text
  -h, --help               this help`

/** The value of `--queue`: `sqlite:PATH` or `memory`. */
export function parseQueueFlag(value: string): NonNullable<WebhookConfig['queue']> {
  if (value === 'memory') return { store: 'memory' }
  if (value.startsWith('sqlite:') && value.length > 'sqlite:'.length)
    return { store: 'sqlite', path: value.slice('sqlite:'.length) }
  throw new UsageError(`--queue must be sqlite:PATH or memory, got '${value}'`)
}

/** `config` with `--queue` applied (keeping the file's other queue settings when the store stays sqlite). */
export function withQueueFlag(config: WebhookConfig, flag: string | undefined): WebhookConfig {
  if (flag === undefined) return config
  const queue = parseQueueFlag(flag)
  const given = config.queue
  if (queue.store === 'sqlite' && given?.store === 'sqlite')
    return { ...config, queue: { ...given, ...queue } }
  return { ...config, queue }
}

/** The store file `config` names; a usage error when it has none (the memory queue keeps nothing to show). */
export function storePath(config: WebhookConfig, command: string): string {
  let queue: ReturnType<typeof resolveConfig>['queue']
  try {
    queue = resolveConfig(config).queue
  } catch (error) {
    if (error instanceof WebhookConfigError) throw new UsageError(error.message)
    throw error
  }
  if (queue.store !== 'sqlite')
    throw new UsageError(
      `${command} needs a SQLite queue store: queue { store = sqlite, path = ... } in the config, or --queue sqlite:PATH`,
    )
  return queue.path
}

/** `mqtt-webhook queue ...` */
export async function runQueue(argv: string[]): Promise<void> {
  const flags = parseFlags('queue', argv, {
    config: { type: 'string' },
    queue: { type: 'string' },
    limit: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  })
  if (flags.help) return say(QUEUE_USAGE)
  const limit = Number(flags.limit)
  if (!Number.isInteger(limit) || limit < 0)
    throw new UsageError(`--limit must be a whole number, got '${flags.limit}'`)
  const path = storePath(withQueueFlag(readConfigFlag(flags.config, 'queue'), flags.queue), 'queue')
  const summary = summarize(path, limit)
  if (flags.json) return say(JSON.stringify(summary))
  const { waiting, dead } = summary
  say(`store    ${path}`)
  say(
    `waiting  ${waiting.events} events, ${waiting.bytes} bytes${waiting.oldest ? `, oldest taken ${waiting.oldest}` : ''}`,
  )
  for (const [event, count] of Object.entries(waiting.by_event)) say(`  ${event.padEnd(24)} ${count}`)
  say(`dead     ${dead.events} events`)
  for (const [event, count] of Object.entries(dead.by_event)) say(`  ${event.padEnd(24)} ${count}`)
  if (dead.newest.length > 0) say(`newest dead letters:`)
  for (const letter of dead.newest)
    say(
      `  ${letter.failed_at}  ${letter.id}  ${letter.event}  attempts ${letter.attempts}  ${letter.message ?? letter.code ?? ''}`,
    )
}

/** The store's summary; a missing file or a missing better-sqlite3 is a usage error (exit 2). */
function summarize(path: string, limit: number): StoreSummary {
  if (!existsSync(path)) throw new UsageError(`no queue store at ${path}`)
  try {
    return summarizeSqliteStore(path, limit)
  } catch (error) {
    if (error instanceof WebhookConfigError) throw new UsageError(error.message)
    throw error
  }
}
