/**
 * The store a webhook's config asks for. A store that cannot be opened (unwritable path, full disk) does not
 * stop the webhook: it is reported, and events are kept in memory only, as with `store: 'memory'`.
 */
import type { ResolvedQueue } from '../../config-types.ts'
import { loadSqlite } from './load.ts'
import { MemoryStore } from './memory.ts'
import { SqliteStore } from './sqlite.ts'
import { storeError } from './sqlite-schema.ts'
import type { QueueStore, StoreErrorReporter } from './types.ts'

export type { DeadLetterFilter, QueueStore, StoredEvent, StoreStats } from './types.ts'

/**
 * Opens the configured store. Throws `WebhookConfigError` on `queue.store` only when better-sqlite3 is
 * missing; a file that cannot be opened is reported through `report` and the memory store is used.
 */
export function openStore(queue: ResolvedQueue, report: StoreErrorReporter): QueueStore {
  if (queue.store === 'memory') return new MemoryStore()
  loadSqlite()
  try {
    return new SqliteStore({ ...queue, report })
  } catch (error) {
    report(storeError(`could not open the queue store ${queue.path}; events are kept in memory only`, error))
    return new FailedStore()
  }
}

/** A sqlite store that could not be opened: memory behaviour, with its stats saying so. */
class FailedStore extends MemoryStore {
  override stats() {
    return { ...super.stats(), kind: 'sqlite', failing: true }
  }
}
