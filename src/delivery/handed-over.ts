/**
 * The broker's thread's list of the jobs it handed to the delivery thread that may still be waiting there,
 * oldest first, with their sizes: to make room it revokes the oldest of them (`Claims.revoke`), which are
 * older than anything still on its own side. Jobs are numbered in hand-over order, so the list is two rings
 * of numbers indexed by that number; those the delivery thread has taken are pruned from the front.
 */
import type { Claims } from './budget.ts'

export class HandedOver {
  readonly #claims: Claims
  #ids = new Float64Array(1024)
  #sizes = new Int32Array(1024)
  /** Each job's `eventIndex`. */
  #events = new Uint8Array(1024)
  /** The number of the oldest job listed, and of the next one to be handed over. */
  #head = 0
  #next = 0

  constructor(claims: Claims) {
    this.#claims = claims
  }

  /** Jobs listed (some may have been taken since: they are pruned lazily). */
  get length(): number {
    return this.#next - this.#head
  }

  /** Whether `count` more jobs can be listed without reusing a claim slot still in use. */
  hasRoom(count: number): boolean {
    if (this.#next - this.#head + count <= this.#claims.capacity) return true
    this.#prune()
    return this.#next - this.#head + count <= this.#claims.capacity
  }

  /** Lists a job about to be handed over (`event` is its `eventIndex`); returns its number. */
  push(id: number, size: number, event: number): number {
    const seq = this.#next++
    if (this.#next - this.#head > this.#ids.length) this.#grow()
    const index = seq & (this.#ids.length - 1)
    this.#ids[index] = id
    this.#sizes[index] = size
    this.#events[index] = event
    this.#claims.open(seq)
    return seq
  }

  /** Takes back the oldest job the delivery thread has not taken yet; calls `each` with its id, size and `eventIndex`. */
  revokeOldest(each: (id: number, size: number, event: number) => void): boolean {
    for (; this.#head < this.#next; this.#head++) {
      const seq = this.#head
      if (!this.#claims.revoke(seq)) continue
      this.#head++
      const index = seq & (this.#ids.length - 1)
      each(this.#ids[index] as number, this.#sizes[index] as number, this.#events[index] as number)
      return true
    }
    return false
  }

  /** Takes back every job the delivery thread has not taken yet, oldest first. */
  revokeAll(each: (id: number, size: number, event: number) => void): void {
    while (this.revokeOldest(each)) {}
  }

  #prune(): void {
    while (this.#head < this.#next && !this.#claims.waiting(this.#head)) this.#head++
  }

  #grow(): void {
    const ids = new Float64Array(this.#ids.length * 2)
    const sizes = new Int32Array(this.#sizes.length * 2)
    const events = new Uint8Array(this.#events.length * 2)
    for (let seq = this.#head; seq < this.#next - 1; seq++) {
      ids[seq & (ids.length - 1)] = this.#ids[seq & (this.#ids.length - 1)] as number
      sizes[seq & (sizes.length - 1)] = this.#sizes[seq & (this.#sizes.length - 1)] as number
      events[seq & (events.length - 1)] = this.#events[seq & (this.#events.length - 1)] as number
    }
    this.#ids = ids
    this.#sizes = sizes
    this.#events = events
  }
}
