/**
 * The SQLite store's file: its tables, its rows, and reading them (for the store and for the `queue` command).
 *
 * `meta` holds the `webhook-id` prefix (`id_prefix`) and the first id not reserved yet (`next_id`); `queue` the
 * events waiting, by job id (their arrival order); `dead` the dead letters, with how they failed.
 */
import type { HookEventName } from '../../events.ts'
import type { DeadLetterFilter, StoredEvent } from './types.ts'

export interface Row {
  id: number
  event: string
  key: string
  bytes: Buffer
  created_at: number
}

export interface DeadRow extends Row {
  failed_at: number
  attempts: number
  status: number | null
  code: string | null
  message: string | null
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue (
  id INTEGER PRIMARY KEY, event TEXT NOT NULL, key TEXT NOT NULL, bytes BLOB NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead (
  id INTEGER PRIMARY KEY, event TEXT NOT NULL, key TEXT NOT NULL, bytes BLOB NOT NULL, created_at INTEGER NOT NULL,
  failed_at INTEGER NOT NULL, attempts INTEGER NOT NULL, status INTEGER, code TEXT, message TEXT
);
CREATE INDEX IF NOT EXISTS dead_failed_at ON dead (failed_at);
`

/** The `WHERE` clause (and its parameters) of the dead letters matching `filter`. */
export function deadWhere(filter: DeadLetterFilter): { where: string; params: Array<string | number> } {
  const clauses: string[] = []
  const params: Array<string | number> = []
  if (filter.since !== undefined) {
    clauses.push('failed_at >= ?')
    params.push(filter.since instanceof Date ? filter.since.getTime() : filter.since)
  }
  if (filter.event !== undefined) {
    clauses.push('event = ?')
    params.push(filter.event)
  }
  return { where: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params }
}

export function toStored(row: Row): StoredEvent {
  return {
    id: row.id,
    event: row.event as HookEventName,
    key: row.key,
    bytes: row.bytes,
    createdAt: row.created_at,
  }
}

/** The error with SQLite's code (`SQLITE_FULL`, `SQLITE_READONLY`...) and message; the path is the user's own. */
export function storeError(context: string, cause: unknown): Error & { code: string } {
  const code = (cause as { code?: unknown })?.code
  const detail = cause instanceof Error ? cause.message : String(cause)
  const error = new Error(`mqtt-webhook: ${context}: ${detail}`, { cause }) as Error & { code: string }
  error.code = typeof code === 'string' ? code : 'ERR_QUEUE_STORE'
  return error
}
