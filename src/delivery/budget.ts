/**
 * The queue's one memory budget, shared by the broker's thread and the delivery thread.
 *
 * Every event held for delivery (on the broker's side, on its way, in the delivery thread's queue, waiting
 * for a retry, or in flight) holds its bytes in the budget, taken with a compare-and-swap on shared
 * counters; an event also holds one of `max_queue`'s places while it waits (not in flight: `pool_size`
 * bounds those). Whichever thread makes an event wait takes its reservation first. When its attempt
 * starts the event gives back its place and keeps its bytes; when the attempt ends it gives them back (a
 * retry then reserves again, as a new event would). So `max_queue` bounds the events waiting and
 * `max_queue_bytes` the bytes waiting and in flight together, at every instant on both threads, without
 * either thread waiting for the other: the delivery thread may be starved (it runs at a low priority) and
 * the broker's thread still knows, synchronously, how much is held. Bodies in flight cannot be dropped:
 * room is made only by dropping waiting events, and when only events in flight hold it, the new one is
 * dropped itself. A message event waits as its record (`message-record.ts`) and its body is written when
 * its attempt starts: the attempt then takes the body's bytes too (`takeInflight`), making room by dropping
 * waiting events while those in flight stay within `max_queue_bytes`, or waits for room.
 *
 * Counts are 32-bit (Atomics want an integer array): both limits are at most 2^31 - 1.
 */
import type { DropReason } from '../webhook-types.ts'

/** Events waiting. */
const COUNT = 0
/** Bytes held: waiting and in flight (what `max_queue_bytes` bounds). */
const BYTES = 1
/** Of those, the bytes waiting; never more than `BYTES` (added after it, taken before it). */
const WAITING_BYTES = 2
export const BUDGET_CELLS = 3

export class QueueBudget {
  readonly #cells: Int32Array
  readonly #maxCount: number
  readonly #maxBytes: number

  /** @param cells `BUDGET_CELLS` int32 cells, on a SharedArrayBuffer when two threads share them. */
  constructor(cells: Int32Array, maxCount: number, maxBytes: number) {
    this.#cells = cells
    this.#maxCount = maxCount
    this.#maxBytes = maxBytes
  }

  static create(maxCount: number, maxBytes: number, shared: boolean): QueueBudget {
    const size = BUDGET_CELLS * Int32Array.BYTES_PER_ELEMENT
    const buffer = shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size)
    return new QueueBudget(new Int32Array(buffer), maxCount, maxBytes)
  }

  /** The cells, to share them with the delivery thread. */
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer
  }

  /** Events waiting now, on both threads. */
  get count(): number {
    return Atomics.load(this.#cells, COUNT)
  }

  /**
   * Bytes waiting (bodies, or message records) and in flight, as one reading: their sum is the budget's
   * total at one instant, whatever starts or ends meanwhile on the other thread.
   */
  get usage(): { queued: number; inflight: number } {
    const waiting = Atomics.load(this.#cells, WAITING_BYTES)
    return { queued: waiting, inflight: Math.max(0, Atomics.load(this.#cells, BYTES) - waiting) }
  }

  /** Whether one event of `bytes` could ever fit, even in an empty queue. */
  fitsAlone(bytes: number): boolean {
    return bytes <= this.#maxBytes
  }

  /**
   * Reserves room for `count` events of `bytes` in all (one, or a batch going back to wait for a retry).
   * Returns `undefined` when it is reserved, else the limit that is reached (the caller makes room by
   * dropping older events, or drops these for that reason).
   */
  reserve(bytes: number, count = 1): DropReason | undefined {
    const cells = this.#cells
    for (;;) {
      const waiting = Atomics.load(cells, COUNT)
      if (waiting + count > this.#maxCount) return 'queue_full'
      if (Atomics.compareExchange(cells, COUNT, waiting, waiting + count) === waiting) break
    }
    for (;;) {
      const used = Atomics.load(cells, BYTES)
      if (used + bytes > this.#maxBytes) {
        Atomics.sub(cells, COUNT, count)
        return 'queue_bytes_full'
      }
      if (Atomics.compareExchange(cells, BYTES, used, used + bytes) === used) break
    }
    Atomics.add(cells, WAITING_BYTES, bytes)
    return undefined
  }

  /** Gives back the reservation of one waiting event of `bytes` (it is dropped). */
  release(bytes: number): void {
    this.releaseMany(1, bytes)
  }

  /** Gives back the reservations of `count` waiting events of `bytes` in all. */
  releaseMany(count: number, bytes: number): void {
    Atomics.sub(this.#cells, COUNT, count)
    Atomics.sub(this.#cells, WAITING_BYTES, bytes)
    Atomics.sub(this.#cells, BYTES, bytes)
  }

  /** `count` waiting events of `bytes` in all go in flight: they give back their places, keep their bytes. */
  started(count: number, bytes: number): void {
    Atomics.sub(this.#cells, COUNT, count)
    Atomics.sub(this.#cells, WAITING_BYTES, bytes)
  }

  /**
   * Takes `bytes` more for an attempt about to start (its body, written from a waiting record), within
   * `max_queue_bytes`; with `force`, past it too (the one attempt that always may go). Whether it took them.
   */
  takeInflight(bytes: number, force: boolean): boolean {
    if (force) {
      Atomics.add(this.#cells, BYTES, bytes)
      return true
    }
    const cells = this.#cells
    for (;;) {
      const used = Atomics.load(cells, BYTES)
      if (used + bytes > this.#maxBytes) return false
      if (Atomics.compareExchange(cells, BYTES, used, used + bytes) === used) return true
    }
  }

  /** Whether `bytes` more in flight would leave the bytes in flight alone within `max_queue_bytes`. */
  inflightFits(bytes: number): boolean {
    return this.usage.inflight + bytes <= this.#maxBytes
  }

  /** An attempt that held `bytes` ended (a retry reserves again). */
  ended(bytes: number): void {
    Atomics.sub(this.#cells, BYTES, bytes)
  }

  /** Starts over from what is known to wait, nothing in flight (the delivery thread died with its reservations). */
  reset(count: number, bytes: number): void {
    Atomics.store(this.#cells, COUNT, count)
    Atomics.store(this.#cells, WAITING_BYTES, bytes)
    Atomics.store(this.#cells, BYTES, bytes)
  }
}

/**
 * Who takes each job handed to the delivery thread, by its sequence number in hand-over order: the delivery
 * thread claims a job when it starts it (or drops it), the broker's thread revokes one to make room (it is
 * then dropped and reported there). One compare-and-swap decides, so a job is never both. A slot holds the
 * job's generation (its sequence number divided by the capacity) and its state, so that a slot reused for
 * a later job is never mistaken for the earlier one.
 */
const WAITING = 0
const CLAIMED = 1
const REVOKED = 2
/** The cell before the slots: jobs revoked so far (the delivery thread purges them from its queue). */
const REVOKED_CELL = 0
const HEADER_CELLS = 1

export class Claims {
  readonly #slots: Int32Array
  readonly #mask: number

  /** @param buffer From `Claims.allocate`. */
  constructor(buffer: SharedArrayBuffer) {
    this.#slots = new Int32Array(buffer)
    const capacity = this.#slots.length - HEADER_CELLS
    this.#mask = capacity - 1
  }

  /** Room for `capacity` (rounded up to a power of two) jobs between the oldest unsettled and the newest. */
  static allocate(capacity: number): SharedArrayBuffer {
    let size = 1024
    while (size < capacity) size *= 2
    return new SharedArrayBuffer((size + HEADER_CELLS) * Int32Array.BYTES_PER_ELEMENT)
  }

  /** The slots, to share them with the delivery thread. */
  get buffer(): SharedArrayBuffer {
    return this.#slots.buffer as SharedArrayBuffer
  }

  get capacity(): number {
    return this.#mask + 1
  }

  /** Jobs revoked since the start. */
  get revoked(): number {
    return Atomics.load(this.#slots, REVOKED_CELL)
  }

  /** The broker's thread hands job `seq` over: nobody has taken it. */
  open(seq: number): void {
    Atomics.store(this.#slots, this.#index(seq), this.#tag(seq, WAITING))
  }

  /** The delivery thread takes job `seq`; false when the broker's thread revoked it first. */
  claim(seq: number): boolean {
    const waiting = this.#tag(seq, WAITING)
    return (
      Atomics.compareExchange(this.#slots, this.#index(seq), waiting, this.#tag(seq, CLAIMED)) === waiting
    )
  }

  /** The broker's thread takes job `seq` back; false when the delivery thread claimed it first. */
  revoke(seq: number): boolean {
    const waiting = this.#tag(seq, WAITING)
    const won =
      Atomics.compareExchange(this.#slots, this.#index(seq), waiting, this.#tag(seq, REVOKED)) === waiting
    if (won) Atomics.add(this.#slots, REVOKED_CELL, 1)
    return won
  }

  /** Whether job `seq` is still waiting for one side or the other to take it. */
  waiting(seq: number): boolean {
    return Atomics.load(this.#slots, this.#index(seq)) === this.#tag(seq, WAITING)
  }

  #index(seq: number): number {
    return HEADER_CELLS + (seq & this.#mask)
  }

  #tag(seq: number, state: number): number {
    // Generations wrap after 2^29 of them; a job is never that many generations behind.
    return ((Math.floor(seq / (this.#mask + 1)) & 0x1fff_ffff) << 2) | state
  }
}
