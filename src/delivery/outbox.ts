/**
 * The jobs waiting on the broker's thread to be handed to the delivery thread, in batches.
 *
 * At most two batches are on their way at once: the delivery thread takes a batch and says so, and only
 * then is the next one sent. When it falls behind (it runs at a lower priority than the broker, and a dead
 * endpoint keeps it busy), batches wait here rather than piling up without bound in the message channel.
 * This runs for every event on the broker's thread, so a batch is plain arrays and one block of bytes:
 * each body is written there as UTF-8 at once and its string dropped (a message event is written there as
 * its record, `message-record.ts`, and has no string at all). Bodies that wait (the delivery thread
 * is behind) then cost the garbage collector nothing, and the block moves to the delivery thread without a
 * copy. Kept as strings, waiting bodies outlived young-generation collections: in a burst of 200,000 events
 * the broker's thread spent 45% of its time in the garbage collector, and 17% under aedes.
 */
import { eventIndex } from './delivery-metrics.ts'
import type { Body } from './job.ts'
import { type MessageHookEvent, recordBound, writeRecord } from './message-record.ts'
import { Ring } from './ring.ts'
import type { ToDeliveryThread } from './thread-protocol.ts'

/** Jobs per batch at most: one message per turn of the event loop, or per this many jobs. */
const MAX_BATCH = 1024
/** The bytes of a batch's bodies: a batch is also full when the next body does not fit (unless it is alone). */
const BATCH_BYTES = 128 * 1024
/** The most bytes one UTF-8 code unit of a JavaScript string takes. */
const MAX_UTF8_PER_UNIT = 3
/** Batches sent and not yet taken: enough to keep the delivery thread busy while the next is prepared. */
const MAX_UNTAKEN = 2
/**
 * Blocks kept for reuse once every job in them was dropped here. In a burst past the budget, blocks are
 * dropped as fast as they fill: freed and allocated again, they left the allocator's heap hundreds of MB
 * above what was waiting (measured: 500,000 events of 1 KB in a synchronous loop).
 */
const MAX_SPARE = 4

type JobsMessage = Extract<ToDeliveryThread, { type: 'jobs' }>

class Batch {
  readonly ids: number[] = []
  /** Each job's `eventIndex`. */
  readonly events: number[] = []
  /** Body `i` is `bytes[offsets[i], offsets[i + 1])`. */
  readonly offsets: number[] = [0]
  readonly keys: string[] = []
  /** Not pooled (`allocUnsafeSlow`): the block is transferred to the delivery thread whole. */
  readonly bytes: Buffer
  /** Jobs before this index were dropped. */
  start = 0

  /** @param spare A block nothing uses any more, big enough and not much bigger. */
  constructor(minBytes: number, spare: Buffer | undefined) {
    // A job of more than half a block gets a block of its own size: in a block of the usual size it would
    // leave the rest empty (two 64 KiB payloads do not fit in 128 KiB), and waiting events would take twice
    // their bytes, past what `max_queue_bytes` means.
    this.bytes = spare ?? Buffer.allocUnsafeSlow(blockSize(minBytes))
  }

  get length(): number {
    return this.ids.length - this.start
  }

  /** Where the next job's bytes go. */
  get end(): number {
    return this.offsets[this.offsets.length - 1] as number
  }

  fits(bytes: number): boolean {
    return this.end + bytes <= this.bytes.length
  }

  /** Records a job whose `written` bytes were just written at `end`. */
  push(id: number, event: number, written: number, key: string, withKey: boolean): void {
    this.ids.push(id)
    this.events.push(event)
    this.offsets.push(this.end + written)
    if (withKey) this.keys.push(key)
  }
}

export interface OutboxOptions {
  /** Send the per-client ordering key with each job. */
  withKeys: boolean
  /** Whether the delivery thread has room for `count` more jobs (see `HandedOver.hasRoom`). */
  canPost(count: number): boolean
  /** Hands a batch over; the caller numbers its jobs (`seq`). */
  post(message: Omit<JobsMessage, 'seq'>): void
}

export class Outbox {
  readonly #options: OutboxOptions
  /** Full batches waiting to be sent, oldest first; the one being filled is `#filling`. */
  readonly #full = new Ring<Batch>(4)
  /** Made at the first job, so that an idle webhook holds no block. */
  #filling: Batch | undefined
  #length = 0
  #untaken = 0
  readonly #spare: Buffer[] = []
  #scheduled = false
  #drainWaiters: Array<() => void> = []

  constructor(options: OutboxOptions) {
    this.#options = options
  }

  /** Jobs waiting here. */
  get length(): number {
    return this.#length
  }

  /** Adds a job whose bytes are its body; `event` is its `eventIndex`. */
  add(id: number, body: Body, key: string, event: number): void {
    const batch = this.#batchWithRoom(mostBytes(body))
    const end = batch.end
    const written = typeof body === 'string' ? batch.bytes.write(body, end) : body.copy(batch.bytes, end)
    batch.push(id, event, written, key, this.#options.withKeys)
    this.#added(batch)
  }

  /** Adds a job whose bytes are the record of a message event (`message-record.ts`). */
  addMessage(id: number, event: MessageHookEvent, key: string): void {
    const batch = this.#batchWithRoom(recordBound(event))
    const written = writeRecord(event, batch.bytes, batch.end)
    batch.push(id, eventIndex(event.event), written, key, this.#options.withKeys)
    this.#added(batch)
  }

  /** The batch being filled, or a new one if `bytes` more may not fit in it. */
  #batchWithRoom(bytes: number): Batch {
    const filling = this.#filling
    if (filling?.fits(bytes)) return filling
    if (filling !== undefined) this.#full.push(filling)
    this.#filling = new Batch(bytes, this.#takeSpare(blockSize(bytes)))
    return this.#filling
  }

  #added(batch: Batch): void {
    this.#length++
    if (batch.ids.length >= MAX_BATCH) {
      this.#full.push(batch)
      this.#filling = undefined
      this.send()
    } else if (!this.#scheduled) {
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
    while (this.#untaken < MAX_UNTAKEN) {
      const next = this.#full.peek() ?? this.#filling
      if (next === undefined || next.length === 0 || !this.#options.canPost(next.length)) break
      this.#post((this.#full.shift() ?? this.#takeFilling()) as Batch)
    }
    if (this.#length === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve()
  }

  /** Resolves once every job added so far has been handed over. */
  drained(): Promise<void> {
    this.send()
    if (this.#length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#drainWaiters.push(resolve))
  }

  /** Takes every waiting job out, oldest first, calling `each` with its id, size and `eventIndex` (to settle it some other way). */
  takeAll(each: (id: number, size: number, event: number) => void): void {
    while (this.dropOldest(each)) {}
    for (const resolve of this.#drainWaiters.splice(0)) resolve()
  }

  /** Takes the oldest waiting job out, calling `each` with its id, size and `eventIndex`; false when none waits. */
  dropOldest(each: (id: number, size: number, event: number) => void): boolean {
    const oldest = this.#full.peek() ?? this.#filling
    if (oldest === undefined || oldest.length === 0) return false
    const index = oldest.start++
    this.#length--
    if (oldest.length === 0) {
      if (oldest === this.#filling) this.#filling = undefined
      else this.#full.shift()
      if (this.#spare.length === MAX_SPARE) this.#spare.shift()
      this.#spare.push(oldest.bytes)
    }
    each(
      oldest.ids[index] as number,
      (oldest.offsets[index + 1] as number) - (oldest.offsets[index] as number),
      oldest.events[index] as number,
    )
    return true
  }

  /** A spare block of `size` bytes or a little more (message records of one sender differ by a few bytes). */
  #takeSpare(size: number): Buffer | undefined {
    const spare = this.#spare
    for (let i = spare.length - 1; i >= 0; i--) {
      const length = (spare[i] as Buffer).length
      if (length >= size && length <= size + size / 8) return spare.splice(i, 1)[0]
    }
    return undefined
  }

  #takeFilling(): Batch | undefined {
    const batch = this.#filling
    if (batch === undefined || batch.length === 0) return undefined
    this.#filling = undefined
    return batch
  }

  #post(batch: Batch): void {
    const start = batch.start
    const message: Omit<JobsMessage, 'seq'> = {
      type: 'jobs',
      ids: start === 0 ? batch.ids : batch.ids.slice(start),
      events: start === 0 ? batch.events : batch.events.slice(start),
      offsets: start === 0 ? batch.offsets : batch.offsets.slice(start),
      bytes: batch.bytes.buffer as ArrayBuffer,
    }
    if (this.#options.withKeys) message.keys = start === 0 ? batch.keys : batch.keys.slice(start)
    this.#length -= batch.length
    this.#untaken++
    this.#options.post(message)
  }
}

/** The block for a job of `bytes`: the usual one, or for a job of more than half of it, its own. */
function blockSize(bytes: number): number {
  return bytes > BATCH_BYTES / 2 ? bytes : BATCH_BYTES
}

/** An upper bound of the body's UTF-8 size: exact for bytes and for big strings (a big base62 body), cheap for the rest. */
function mostBytes(body: Body): number {
  if (typeof body !== 'string') return body.length
  const most = MAX_UTF8_PER_UNIT * body.length
  // Counting costs a pass over the string: worth it only where the bound would waste much of a block.
  return most > BATCH_BYTES ? Buffer.byteLength(body) : most
}
