/**
 * better-sqlite3, loaded only when a store asks for it. It is an optional peer dependency, not an optional
 * dependency: npm installs optional dependencies by default, and this one is a native module compiled at
 * install (a minute of CPU here), which users of the memory queue must never pay for.
 */
import { createRequire } from 'node:module'
import { WebhookConfigError } from '../../errors.ts'

/** The part of better-sqlite3's API the store uses. */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number }
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement
  pragma(sql: string): unknown
  exec(sql: string): void
  transaction<F extends (...args: never[]) => unknown>(fn: F): F
  close(): void
}

export type SqliteConstructor = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean },
) => SqliteDatabase

let loaded: SqliteConstructor | undefined

/** better-sqlite3's Database class; throws `WebhookConfigError` on `queue.store` when it cannot be loaded. */
export function loadSqlite(): SqliteConstructor {
  if (loaded !== undefined) return loaded
  try {
    loaded = createRequire(import.meta.url)('better-sqlite3') as SqliteConstructor
    return loaded
  } catch (error) {
    const missing = (error as { code?: string }).code === 'MODULE_NOT_FOUND'
    throw new WebhookConfigError(
      'queue.store',
      missing
        ? "'sqlite' needs the optional package better-sqlite3, which is not installed (npm install better-sqlite3@12)"
        : `'sqlite' needs better-sqlite3, which could not be loaded (${(error as Error).message.split('\n')[0]})`,
    )
  }
}
