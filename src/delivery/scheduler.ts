/**
 * Which waiting event goes next. Two policies behind one interface:
 * `FifoScheduler` for `ordering: 'none'`, `PerKeyScheduler` for `ordering: 'per-client'`.
 *
 * Hand-written beside p-queue: p-queue bounds concurrency, but orders only by priority; per-client lanes
 * that still drop the oldest event of the whole queue in O(1) need links of their own.
 */
import { Ring } from './ring.ts'

/** What a scheduler needs to know of a queued event; the dispatcher's entries carry these links. */
export interface Schedulable {
  /** The ordering key: the client id, or `''` for events that have no client. */
  key: string
  /** Neighbours in arrival order, for dropping the oldest in O(1) (per-key only). */
  older: Schedulable | undefined
  newer: Schedulable | undefined
  /** The next event of the same key (per-key only). */
  laneNext: Schedulable | undefined
}

export interface Scheduler<T extends Schedulable> {
  /** Events waiting here (never started, or held back behind their key). */
  readonly size: number
  push(entry: T): void
  /** Removes and returns the next event allowed to start; its key is busy until `release`. */
  next(): T | undefined
  /** The event returned by `next` is finished: its key's next event may start. */
  release(entry: T): void
  /** Removes and returns the oldest waiting event (drop-oldest on overflow, draining on close). */
  shiftOldest(): T | undefined
  /** The oldest waiting event, left in place. */
  oldest(): T | undefined
  /**
   * Removes and returns the next waiting event of `key`, whose earlier event the caller holds (from
   * `next` or `nextOf`) and will release together with this one: a batch may carry a client's events
   * in a row. `undefined` when none waits, or when the policy has no keys.
   */
  nextOf(key: string): T | undefined
}

/** Arrival order, no holding back: a ring buffer. */
export class FifoScheduler<T extends Schedulable> implements Scheduler<T> {
  readonly #ring = new Ring<T>(1024)

  get size(): number {
    return this.#ring.length
  }

  push(entry: T): void {
    this.#ring.push(entry)
  }

  next(): T | undefined {
    return this.#ring.shift()
  }

  release(_entry: T): void {}

  shiftOldest(): T | undefined {
    return this.#ring.shift()
  }

  oldest(): T | undefined {
    return this.#ring.peek()
  }

  nextOf(_key: string): T | undefined {
    return undefined
  }
}

/** One key's waiting events, linked through `laneNext`. */
interface Lane {
  key: string
  head: Schedulable | undefined
  tail: Schedulable | undefined
  /** One of this key's events has started and is not finished (in flight, or waiting for a retry). */
  busy: boolean
  /** Listed in `ready`. */
  listed: boolean
}

/**
 * One event per key at a time, in arrival order per key. Keys take turns in the order they became ready,
 * so a key held back by retries holds back nobody else. All waiting events are also linked in arrival
 * order, so the oldest can be dropped in O(1) whatever lane it sits in.
 */
export class PerKeyScheduler<T extends Schedulable> implements Scheduler<T> {
  readonly #lanes = new Map<string, Lane>()
  readonly #ready = new Ring<Lane>(256)
  #oldest: Schedulable | undefined
  #newest: Schedulable | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  push(entry: T): void {
    this.#link(entry)
    let lane = this.#lanes.get(entry.key)
    if (lane === undefined) {
      lane = { key: entry.key, head: undefined, tail: undefined, busy: false, listed: false }
      this.#lanes.set(entry.key, lane)
    }
    if (lane.tail === undefined) lane.head = entry
    else lane.tail.laneNext = entry
    lane.tail = entry
    this.#list(lane)
  }

  next(): T | undefined {
    for (let lane = this.#ready.shift(); lane !== undefined; lane = this.#ready.shift()) {
      lane.listed = false
      const entry = lane.head
      // A lane emptied by drops stays listed until here; a lane replaced since then is stale.
      if (entry === undefined || lane.busy || this.#lanes.get(lane.key) !== lane) {
        this.#forgetIfIdle(lane)
        continue
      }
      this.#shiftLane(lane)
      this.#unlink(entry)
      lane.busy = true
      return entry as T
    }
    return undefined
  }

  release(entry: T): void {
    const lane = this.#lanes.get(entry.key)
    if (lane === undefined) return
    lane.busy = false
    if (lane.head === undefined) this.#lanes.delete(lane.key)
    else this.#list(lane)
  }

  shiftOldest(): T | undefined {
    const entry = this.#oldest
    if (entry === undefined) return undefined
    this.#unlink(entry)
    const lane = this.#lanes.get(entry.key)
    // The oldest waiting event is always the head of its lane: lanes keep arrival order.
    if (lane !== undefined && lane.head === entry) {
      this.#shiftLane(lane)
      this.#forgetIfIdle(lane)
    }
    return entry as T
  }

  oldest(): T | undefined {
    return this.#oldest as T | undefined
  }

  nextOf(key: string): T | undefined {
    const lane = this.#lanes.get(key)
    const entry = lane?.head
    if (lane === undefined || entry === undefined || !lane.busy) return undefined
    this.#shiftLane(lane)
    this.#unlink(entry)
    return entry as T
  }

  #list(lane: Lane): void {
    if (lane.busy || lane.listed || lane.head === undefined) return
    lane.listed = true
    this.#ready.push(lane)
  }

  #shiftLane(lane: Lane): void {
    const head = lane.head as Schedulable
    lane.head = head.laneNext
    if (lane.head === undefined) lane.tail = undefined
    head.laneNext = undefined
  }

  #forgetIfIdle(lane: Lane): void {
    if (!lane.busy && lane.head === undefined && this.#lanes.get(lane.key) === lane)
      this.#lanes.delete(lane.key)
  }

  #link(entry: Schedulable): void {
    entry.older = this.#newest
    entry.newer = undefined
    if (this.#newest === undefined) this.#oldest = entry
    else this.#newest.newer = entry
    this.#newest = entry
    this.#size++
  }

  #unlink(entry: Schedulable): void {
    if (entry.older === undefined) this.#oldest = entry.newer
    else entry.older.newer = entry.newer
    if (entry.newer === undefined) this.#newest = entry.older
    else entry.newer.older = entry.older
    entry.older = undefined
    entry.newer = undefined
    this.#size--
  }
}
