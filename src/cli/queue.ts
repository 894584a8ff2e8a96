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
import { type CommandSpec, type FlagSpec, parseCommand, readConfigFlag, UsageError, usage } from './args.ts'
import { say } from './log.ts'

/** `--queue`, shared by the commands that run or read a webhook's queue. */
export const QUEUE_FLAG: FlagSpec = {
  type: 'string',
  value: 'sqlite:PATH',
  help: 'keep waiting events in a SQLite file, delivered after a crash too (memory: the default)',
}

export const QUEUE: CommandSpec = {
  name: 'queue',
  synopsis: '--config FILE [options]',
  description: `Shows what waits in the webhook's SQLite queue store (queue { store = sqlite, path = ... } in
FILE, or --queue) and its dead letters: events that failed for good, which 'mqtt-webhook replay' sends again.`,
  flags: {
    config: { type: 'string', value: 'FILE', help: 'webhook configuration (required)' },
    queue: { ...QUEUE_FLAG, help: "the store file, in place of FILE's queue setting" },
    limit: { type: 'string', value: 'N', default: '20', help: 'dead letters listed, newest first' },
    json: { type: 'boolean', help: 'one JSON object instead of text' },
  },
}

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
export function storePath(config: WebhookConfig, spec: CommandSpec): string {
  let queue: ReturnType<typeof resolveConfig>['queue']
  try {
    queue = resolveConfig(config).queue
  } catch (error) {
    if (error instanceof WebhookConfigError) throw new UsageError(error.message)
    throw error
  }
  if (queue.store !== 'sqlite')
    throw new UsageError(
      `${spec.name} needs a SQLite queue store: queue { store = sqlite, path = ... } in the config, or --queue sqlite:PATH`,
    )
  return queue.path
}

/** `mqtt-webhook queue ...` */
export async function runQueue(argv: string[]): Promise<void> {
  const { help, values } = parseCommand(QUEUE, argv)
  if (help) return say(usage(QUEUE))
  const limit = Number(values.limit)
  if (!Number.isInteger(limit) || limit < 0)
    throw new UsageError(`--limit must be a whole number, got '${values.limit}'`, usage(QUEUE))
  const config = readConfigFlag(values.config as string | undefined, QUEUE)
  const path = storePath(withQueueFlag(config, values.queue as string | undefined), QUEUE)
  const summary = summarize(path, limit)
  if (values.json === true) return say(JSON.stringify(summary))
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
