/**
 * The jobs waiting on the broker's thread to be handed to the delivery thread, in batches.
 *
 * At most two batches are on their way at once: the delivery thread takes a batch and says so, and only
 * then is the next one sent. When it falls behind (it runs at a lower priority than the broker, and a dead
 * endpoint keeps it busy), jobs wait here, in a ring with the same drop-oldest bound as its own queue,
 * rather than piling up without bound in the message channel.
 */
import { Ring } from './ring.ts'
import type { ToDeliveryThread } from './thread-protocol.ts'
import { BODY_SEPARATOR } from './thread-protocol.ts'

/** Jobs per batch at most: one message per turn of the event loop, or per this many jobs. */
const MAX_BATCH = 1024
/** Batches sent and not yet taken: enough to keep the delivery thread busy while the next is prepared. */
const MAX_UNTAKEN = 2

interface WaitingJob {
  id: number
  body: string
  key: string
}

export interface OutboxOptions {
  /** Most jobs waiting here while the delivery thread is behind; past it the oldest is dropped. */
  maxQueue: number
  /** Send the per-client ordering key with each job. */
  withKeys: boolean
  post(message: Extract<ToDeliveryThread, { type: 'jobs' }>): void
  dropped(id: number): void
}

export class Outbox {
  readonly #options: OutboxOptions
  readonly #waiting = new Ring<WaitingJob>(64)
  #untaken = 0
  #scheduled = false
  #drainWaiters: Array<() => void> = []

  constructor(options: OutboxOptions) {
    this.#options = options
  }

  /** Jobs waiting here. */
  get length(): number {
    return this.#waiting.length
  }

  add(id: number, body: string, key: string): void {
    this.#waiting.push({ id, body, key })
    this.#trim()
    if (this.#waiting.length >= MAX_BATCH) this.send()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.send())
    }
  }

  /** The delivery thread took a batch. */
  taken(): void {
    this.#untaken--
    this.send()
  }

  /** Sends what waits, as far as the delivery thread keeps up. */
  send(): void {
    this.#scheduled = false
    while (this.#waiting.length > 0 && this.#untaken < MAX_UNTAKEN) this.#sendBatch()
    if (this.#waiting.length === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve()
  }

  /** Resolves once every job added so far has been handed over. */
  drained(): Promise<void> {
    this.send()
    if (this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#drainWaiters.push(resolve))
  }

  /** Takes every waiting job out, oldest first (to settle them some other way). */
  takeAll(): number[] {
    const ids: number[] = []
    for (let job = this.#waiting.shift(); job; job = this.#waiting.shift()) ids.push(job.id)
    for (const resolve of this.#drainWaiters.splice(0)) resolve()
    return ids
  }

  #sendBatch(): void {
    const count = Math.min(this.#waiting.length, MAX_BATCH)
    const ids = new Array<number>(count)
    const bodies = new Array<string>(count)
    const keys = this.#options.withKeys ? new Array<string>(count) : undefined
    for (let i = 0; i < count; i++) {
      const job = this.#waiting.shift() as WaitingJob
      ids[i] = job.id
      bodies[i] = job.body
      if (keys !== undefined) keys[i] = job.key
    }
    const message: Extract<ToDeliveryThread, { type: 'jobs' }> = {
      type: 'jobs',
      ids,
      bodies: bodies.join(BODY_SEPARATOR),
    }
    if (keys !== undefined) message.keys = keys
    this.#untaken++
    this.#options.post(message)
  }

  /**
   * While the delivery thread keeps up, jobs reach its queue, which drops the oldest past `max_queue`.
   * Only when it is behind do jobs gather here, and then the same bound applies here.
   */
  #trim(): void {
    if (this.#untaken < MAX_UNTAKEN) return
    while (this.#waiting.length > this.#options.maxQueue) {
      const oldest = this.#waiting.shift()
      if (oldest === undefined) return
      this.#options.dropped(oldest.id)
    }
  }
}
