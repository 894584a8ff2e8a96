/**
 * `queue: { store: 'memory' }`: events live only in the delivery's own queue, as they always did. The store
 * keeps nothing, so a crash loses what waits, and there are no dead letters to replay.
 */
import { randomBytes } from 'node:crypto'
import type { QueueStore, StoreStats } from './types.ts'

export class MemoryStore implements QueueStore {
  readonly kind = 'memory'
  /** A random prefix per webhook, then a counter: unique, and cheap. */
  readonly idPrefix = `msg_${randomBytes(12).toString('base64url')}`
  readonly firstId = 0

  recover(): [] {
    return []
  }

  add(): void {}
  remove(): void {}
  kill(): void {}

  revive(): [] {
    return []
  }

  commit(): void {}

  stats(): StoreStats {
    return {
      kind: 'memory',
      written: 0,
      recovered: 0,
      replayed: 0,
      dead: 0,
      dead_dropped: 0,
      write_errors: 0,
      failing: false,
    }
  }

  close(): void {}
}
