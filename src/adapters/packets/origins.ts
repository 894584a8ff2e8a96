import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'

/** Who published a message, as far as the relay saw. */
export interface MessageOrigin {
  clientid: string
  username: string | undefined
}

/** Payloads up to this size are compared byte for byte; larger ones by a digest, so memory stays small. */
const INLINE_PAYLOAD = 64

/** What an entry costs besides its key's characters: the map entry, the origin object, its strings. */
const ENTRY_OVERHEAD_BYTES = 160

/**
 * Default memory for the recent publishes of one relay, in bytes: some 30,000 publishes of short topics.
 * @default 8 MiB
 */
export const DEFAULT_ORIGINS_MAX_BYTES = 8 * 1024 * 1024

/**
 * Remembers who recently published what, across the connections of one relay, so that a message the broker
 * delivers can name its publisher: the wire of a delivery does not say who sent it.
 *
 * A delivery is matched to the latest publish of the same topic and payload still remembered. When two
 * clients publish the very same payload to the same topic, the later is named for both; a message nobody
 * published through this relay (a retained message from before, a bridge, the broker itself) gets `null`.
 * Bounded by bytes (`lru-cache`): the least recently published is forgotten first.
 */
export class MessageOrigins {
  private readonly recent: LRUCache<string, MessageOrigin>

  /** @param maxBytes Memory for remembered publishes, keys and origins counted. @default 8 MiB */
  constructor(maxBytes = DEFAULT_ORIGINS_MAX_BYTES) {
    this.recent = new LRUCache<string, MessageOrigin>({
      maxSize: maxBytes,
      sizeCalculation: (origin, key) =>
        ENTRY_OVERHEAD_BYTES + 2 * (key.length + origin.clientid.length + (origin.username?.length ?? 0)),
    })
  }

  remember(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    // A copy: the caller may hand its own mutable state.
    this.recent.set(keyOf(topic, payload), { clientid: origin.clientid, username: origin.username })
  }

  find(topic: string, payload: Uint8Array): MessageOrigin | undefined {
    return this.recent.get(keyOf(topic, payload))
  }

  /** Bytes in use, as counted against `maxBytes`. */
  get size(): number {
    return this.recent.calculatedSize
  }
}

function keyOf(topic: string, payload: Uint8Array): string {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  const print =
    bytes.length <= INLINE_PAYLOAD
      ? `=${bytes.toString('latin1')}`
      : `#${bytes.length}:${createHash('sha1').update(bytes).digest('base64')}`
  // NUL cannot be in an MQTT topic, so topic and payload never run into each other.
  return `${topic}\u0000${print}`
}
