/**
 * The SQLite store read from outside: what the `queue` command shows. Opened read-only, so that a broker
 * using the file at the same time is not disturbed (WAL lets a reader and a writer run together).
 */
import { loadSqlite } from './load.ts'

/** What the `queue` command shows; ids are `webhook-id`s, times ISO 8601. */
export interface StoreSummary {
  path: string
  waiting: { events: number; bytes: number; oldest: string | null; by_event: Record<string, number> }
  dead: {
    events: number
    by_event: Record<string, number>
    newest: Array<{
      id: string
      event: string
      failed_at: string
      attempts: number
      status: number | null
      code: string | null
      message: string | null
    }>
  }
}

/** What waits in the store at `path`, and its dead letters (the newest `limit` listed), read as a WAL reader. */
export function summarizeSqliteStore(path: string, limit: number): StoreSummary {
  const Database = loadSqlite()
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const prefix =
      (db.prepare("SELECT value FROM meta WHERE name = 'id_prefix'").get() as { value: string } | undefined)
        ?.value ?? ''
    const waiting = db
      .prepare(
        'SELECT count(*) AS events, coalesce(sum(length(bytes)), 0) AS bytes, min(created_at) AS oldest FROM queue',
      )
      .get() as { events: number; bytes: number; oldest: number | null }
    const byEvent = (table: string) =>
      Object.fromEntries(
        (
          db
            .prepare(`SELECT event, count(*) AS n FROM ${table} GROUP BY event ORDER BY event`)
            .all() as Array<{
            event: string
            n: number
          }>
        ).map(({ event, n }) => [event, n]),
      )
    const newest = db
      .prepare(
        'SELECT id, event, failed_at, attempts, status, code, message FROM dead ORDER BY failed_at DESC, id DESC LIMIT ?',
      )
      .all(limit) as Array<{
      id: number
      event: string
      failed_at: number
      attempts: number
      status: number | null
      code: string | null
      message: string | null
    }>
    const deadCount = (db.prepare('SELECT count(*) AS n FROM dead').get() as { n: number }).n
    return {
      path,
      waiting: {
        events: waiting.events,
        bytes: waiting.bytes,
        oldest: waiting.oldest === null ? null : new Date(waiting.oldest).toISOString(),
        by_event: byEvent('queue'),
      },
      dead: {
        events: deadCount,
        by_event: byEvent('dead'),
        newest: newest.map((row) => ({
          ...row,
          id: prefix + row.id.toString(36),
          failed_at: new Date(row.failed_at).toISOString(),
        })),
      },
    }
  } finally {
    db.close()
  }
}
