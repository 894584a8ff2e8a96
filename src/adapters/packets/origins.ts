import { createHash } from 'node:crypto'

/** Who published a message, as far as the relay saw. */
export interface MessageOrigin {
  clientid: string
  username: string | undefined
}

interface Remembered {
  fingerprint: string
  origin: MessageOrigin
}

/** Payloads up to this size are compared byte for byte; larger ones by a digest, so memory stays small. */
const INLINE_PAYLOAD = 64

/**
 * Remembers who recently published what, across the connections of one relay, so that a message the broker
 * delivers can name its publisher: the wire of a delivery does not say who sent it.
 *
 * A delivery is matched to the latest publish of the same topic and payload still remembered. When two
 * clients publish the very same payload to the same topic, the later is named for both; a message nobody
 * published through this relay (a retained message from before, a bridge, the broker itself) gets `null`.
 */
export class MessageOrigins {
  private readonly byTopic = new Map<string, Remembered[]>()

  /**
   * @param perTopic Publishes remembered per topic.
   * @param maxTopics Topics remembered; the least recently published is forgotten first.
   */
  constructor(
    private readonly perTopic = 8,
    private readonly maxTopics = 10_000,
  ) {}

  remember(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    let recent = this.byTopic.get(topic)
    if (recent === undefined) {
      if (this.byTopic.size >= this.maxTopics) {
        const oldest = this.byTopic.keys().next().value
        if (oldest !== undefined) this.byTopic.delete(oldest)
      }
      recent = []
    } else this.byTopic.delete(topic) // re-inserted below: Map order is the eviction order
    this.byTopic.set(topic, recent)
    // A copy: the caller may hand its own mutable state.
    recent.push({
      fingerprint: fingerprint(payload),
      origin: { clientid: origin.clientid, username: origin.username },
    })
    if (recent.length > this.perTopic) recent.shift()
  }

  find(topic: string, payload: Uint8Array): MessageOrigin | undefined {
    const recent = this.byTopic.get(topic)
    if (recent === undefined) return undefined
    const print = fingerprint(payload)
    for (let i = recent.length - 1; i >= 0; i--) {
      const remembered = recent[i] as Remembered
      if (remembered.fingerprint === print) return remembered.origin
    }
    return undefined
  }
}

function fingerprint(payload: Uint8Array): string {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  if (bytes.length <= INLINE_PAYLOAD) return `=${bytes.toString('latin1')}`
  return `#${bytes.length}:${createHash('sha1').update(bytes).digest('base64')}`
}
