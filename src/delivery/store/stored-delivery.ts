/**
 * A delivery with a store behind it: every job is written to the store as it is accepted and settled there
 * when its report comes back, so that the dispatcher (on whatever thread) never sees the store. Only used
 * with a durable store; with `store: 'memory'` the front talks to the delivery directly.
 */
import type { PayloadEncoding } from '../../config-types.ts'
import type { HookEventName } from '../../events.ts'
import type { DropReason } from '../../webhook-types.ts'
import { eventIndex } from '../delivery-metrics.ts'
import type { Delivery, DeliveryJob, DispatcherCallbacks, DispatcherStats } from '../job.ts'
import { formatRecord, isRecord, type MessageHookEvent, recordBound, writeRecord } from '../message-record.ts'
import type { DeadLetterFilter, QueueStore, StoredEvent } from './types.ts'

/** A job as the front hands it over, with its event's name (kept for `replay --event`). */
export type NamedJob = DeliveryJob & { event: HookEventName }

export class StoredDelivery implements Delivery {
  readonly #inner: Delivery
  readonly #store: QueueStore
  readonly #encoding: PayloadEncoding
  /** Whether the delivery takes bodies as bytes (on the delivery thread); else records are formatted here. */
  readonly #takesBytes: boolean
  /** Told of each event taken back from the store or replayed, before it is sent. */
  readonly #resending: (event: StoredEvent) => void
  #closing = false
  readonly enqueueMessage: Delivery['enqueueMessage']

  constructor(
    inner: Delivery,
    store: QueueStore,
    encoding: PayloadEncoding,
    resending: (event: StoredEvent) => void = () => {},
  ) {
    this.#resending = resending
    this.#inner = inner
    this.#store = store
    this.#encoding = encoding
    this.#takesBytes = inner.enqueueMessage !== undefined
    // The record is written once, here, so the stored bytes and the sent ones are the same (`ts` included).
    this.enqueueMessage = this.#takesBytes
      ? (id, event, key) => {
          const record = toRecord(event)
          this.#keep({ id, event: event.event, key, bytes: record, createdAt: Date.now() })
          inner.enqueue({ id, body: record, key, eventIndex: eventIndex(event.event) })
        }
      : undefined
  }

  /** The store's side of each report: delivered and dropped events leave it, failed ones become dead letters. */
  static settling(store: QueueStore, callbacks: DispatcherCallbacks): DispatcherCallbacks {
    return {
      delivered(id, attempts, status) {
        store.remove(id)
        callbacks.delivered(id, attempts, status)
      },
      failed(id, attempts, outcome) {
        store.kill(id, { attempts, ...outcome })
        callbacks.failed(id, attempts, outcome)
      },
      dropped(id, attempts, reason: DropReason) {
        // Dropped at close: kept, to be delivered by the next run.
        if (reason !== 'closed') store.remove(id)
        callbacks.dropped(id, attempts, reason)
      },
    }
  }

  enqueue(job: DeliveryJob): void {
    const { event, ...rest } = job as NamedJob
    const body = rest.body
    if (body instanceof Promise) {
      // A big base62 body is kept once it is encoded.
      const kept = body.then((text) => {
        this.#keep({ id: job.id, event, key: job.key, bytes: Buffer.from(text), createdAt: Date.now() })
        return text
      })
      this.#inner.enqueue({ ...rest, body: kept })
      return
    }
    this.#keep({ id: job.id, event, key: job.key, bytes: Buffer.from(body), createdAt: Date.now() })
    this.#inner.enqueue(rest)
  }

  /** Takes back the events an earlier run left in the store, oldest first; returns how many. */
  recover(): number {
    return this.#resend(this.#store.recover())
  }

  /** Sends matching dead letters again, same body, same id; returns how many. */
  replay(filter?: DeadLetterFilter): number {
    if (this.#closing) return 0
    return this.#resend(this.#store.revive(filter))
  }

  stats(): DispatcherStats {
    return this.#inner.stats()
  }

  async flush(): Promise<void> {
    await this.#inner.flush()
    this.#store.commit()
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closing = true
    await this.#inner.close(timeoutMs)
    this.#store.close()
  }

  #keep(event: StoredEvent): void {
    // Events taken after close are dropped as `closed` by the delivery, not kept for the next run.
    if (!this.#closing) this.#store.add(event)
  }

  #resend(events: StoredEvent[]): number {
    for (const event of events) {
      const { id, key, bytes } = event
      this.#resending(event)
      const body = this.#takesBytes
        ? bytes
        : isRecord(bytes)
          ? formatRecord(bytes, this.#encoding)
          : bytes.toString('utf8')
      this.#inner.enqueue({ id, body, key, eventIndex: eventIndex(event.event) })
    }
    return events.length
  }
}

function toRecord(event: MessageHookEvent): Buffer {
  const block = Buffer.allocUnsafe(recordBound(event))
  return block.subarray(0, writeRecord(event, block, 0))
}
