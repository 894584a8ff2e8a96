/**
 * A growable FIFO ring buffer: O(1) push, shift and peek.
 *
 * The waiting queue can hold 100,000 events; `Array.prototype.shift` on an array that long copies it
 * on every call, which would make each dequeue cost as much as the whole backlog.
 */
export class Ring<T> {
  #items: Array<T | undefined>
  #head = 0
  #length = 0

  /** @param capacity Initial slots; rounded up to a power of two so that indexes wrap with a mask. */
  constructor(capacity = 16) {
    let size = 4
    while (size < capacity) size *= 2
    this.#items = new Array<T | undefined>(size)
  }

  get length(): number {
    return this.#length
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow()
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item
    this.#length++
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined
    const item = this.#items[this.#head]
    // Release the slot so that a dropped or sent event can be collected.
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) & (this.#items.length - 1)
    this.#length--
    return item
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head]
  }

  #grow(): void {
    const old = this.#items
    const next = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)]
    this.#items = next
    this.#head = 0
  }
}
