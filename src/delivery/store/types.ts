/**
 * Where waiting events live (`queue.store`). The front writes each accepted event to the store and settles it
 * there when its report comes back; the dispatcher never sees the store. A backend is anything with this
 * shape: memory (nothing kept, today's behaviour), SQLite (kept across a crash), later a shared one.
 */
import type { HookEventName } from '../../events.ts'

/** One event as the store keeps it: enough to send it again, byte for byte, under the same `webhook-id`. */
export interface StoredEvent {
  /** The job id; the `webhook-id` is the store's `idPrefix` followed by it in base 36. */
  id: number
  /** The event's config name, for `replay --event` and `queue` listings. */
  event: HookEventName
  /** The per-client ordering key. */
  key: string
  /** The body's UTF-8 bytes, or a message event's record (`message-record.ts`), formatted when sent. */
  bytes: Buffer
  /** When `handle()` took it, ms since the epoch. */
  createdAt: number
}

/** How an event failed, as the dispatcher reports it. */
export interface FailureInfo {
  attempts: number
  status?: number
  code?: string
  message?: string
}

/** Which dead letters to replay or list. */
export interface DeadLetterFilter {
  /** Only those given up on at or after this time (ms since the epoch, or a Date). */
  since?: number | Date
  /** Only this event. */
  event?: HookEventName
}

/** The store's share of `stats()`. */
export interface StoreStats {
  /** `'memory'` or `'sqlite'`. */
  kind: string
  /** Events written to the store since the start. */
  written: number
  /** Events taken from the store at the start (left by an earlier run). */
  recovered: number
  /** Dead letters put back in the queue by `replay()`. */
  replayed: number
  /** Dead letters held now. */
  dead: number
  /** Dead letters dropped, oldest first, past `queue.max_dead_letters`. */
  dead_dropped: number
  /** Events that could not be written (full disk, unwritable file...): they are delivered from memory only. */
  write_errors: number
  /** Whether the last write failed (the store is not keeping events now). */
  failing: boolean
}

export interface QueueStore {
  readonly kind: 'memory' | 'sqlite'
  /** The `webhook-id` prefix: kept by a durable store, so an event keeps its id across restarts. */
  readonly idPrefix: string
  /** The first id this run may give; every id below it may have been used already. */
  readonly firstId: number
  /** Events written and not settled by an earlier run, oldest first. Called once, at the start. */
  recover(): StoredEvent[]
  /** Keeps an accepted event (written with the next commit). */
  add(event: StoredEvent): void
  /** The event was delivered or dropped: it leaves the store. */
  remove(id: number): void
  /** The event failed for good: it becomes a dead letter. */
  kill(id: number, failure: FailureInfo): void
  /** Moves matching dead letters back to the queue and returns them, oldest first. */
  revive(filter?: DeadLetterFilter): StoredEvent[]
  /** Writes what is pending now (otherwise written once per turn of the event loop). */
  commit(): void
  stats(): StoreStats
  /** Commits and closes the file. */
  close(): void
}

/** Where the store reports a write that failed; it never throws into the caller. */
export type StoreErrorReporter = (error: Error) => void
