/**
 * An entry's room in the budget (`max_queue`, `max_queue_bytes`): reserved while it waits, made by dropping
 * the oldest waiting jobs, taken for its written body when its attempt starts, given back when the attempt
 * ends. Also which attempts are in flight, since their bytes decide whether the next one may start.
 */
import type { DropReason } from '../webhook-types.ts'
import type { QueueBudget } from './budget.ts'
import { type Entry, eventsOf, roomOf } from './entry.ts'
import type { Reports } from './reports.ts'
import type { WaitingJobs } from './waiting.ts'

export class Room {
  readonly #budget: QueueBudget
  readonly #waiting: WaitingJobs
  readonly #reports: Reports
  readonly #inflight = new Set<Entry>()
  /** Events in flight (a batch counts all its events). */
  #inflightEvents = 0

  constructor(budget: QueueBudget, waiting: WaitingJobs, reports: Reports) {
    this.#budget = budget
    this.#waiting = waiting
    this.#reports = reports
  }

  get inflightEvents(): number {
    return this.#inflightEvents
  }

  /**
   * Reserves the room of a job (or a batch) about to wait, new or back for a retry; past `max_queue` or
   * `max_queue_bytes` the oldest jobs waiting for their first attempt make room, and when none is left
   * here, this one is dropped. False when it was.
   */
  reserve(entry: Entry): boolean {
    const budget = this.#budget
    const count = eventsOf(entry)
    const bytes = roomOf(entry)
    if (!budget.fitsAlone(bytes)) {
      this.#reports.drop(entry, 'queue_bytes_full')
      return false
    }
    for (let full = budget.reserve(bytes, count); full !== undefined; full = budget.reserve(bytes, count)) {
      const oldest = this.#waiting.takeOldest()
      if (oldest === undefined) {
        this.#reports.drop(entry, full)
        return false
      }
      this.dropWaiting(oldest, full)
    }
    return true
  }

  /**
   * Drops (`queue_bytes_full`) an event whose attempt, its stored room and its written body together (what
   * it holds in flight), could never fit in `max_queue_bytes`; whether it did. Written, a body may be
   * several times what was stored (a binary payload escaped in a `plain` body), so `reserve` could not
   * tell; such an event goes as one too big to store does. A batch does not: it goes alone (`toStart`), as
   * it did before there were bytes in flight, rather than lose all its events for one.
   */
  dropIfTooBig(entry: Entry): boolean {
    if (entry.batch !== undefined || this.#budget.fitsAlone(roomOf(entry) + entry.sendBytes)) return false
    forgetBody(entry)
    this.dropWaiting(entry, 'queue_bytes_full')
    return true
  }

  /**
   * Takes the room an attempt's written body needs beside the rest. Attempts go before waiting jobs: past
   * `max_queue_bytes`, the oldest jobs waiting here make room, as long as the bytes in flight, this
   * attempt's with them, stay within the budget; else it waits for the attempts in flight to end. With
   * none in flight it goes anyway, past the budget alone if nothing is left to drop here.
   */
  toStart(entry: Entry): boolean {
    const bytes = entry.sendBytes
    const budget = this.#budget
    if (bytes === 0 || budget.takeInflight(bytes, false)) return true
    const alone = this.#inflight.size === 0
    if (alone || budget.inflightFits(roomOf(entry) + bytes))
      for (let oldest = this.#waiting.takeOldest(); oldest; oldest = this.#waiting.takeOldest()) {
        this.dropWaiting(oldest, 'queue_bytes_full')
        if (budget.takeInflight(bytes, false)) return true
      }
    return alone && budget.takeInflight(bytes, true)
  }

  /** Its room moves from waiting to in flight; close() aborts it from now on, even before its request goes. */
  started(entry: Entry): void {
    this.#budget.started(eventsOf(entry), roomOf(entry))
    this.#inflight.add(entry)
    this.#inflightEvents += eventsOf(entry)
  }

  /** Its attempt is over. Its bytes leave the budget here, once: close() may have let go of it already. */
  ended(entry: Entry): void {
    if (this.#inflight.delete(entry)) {
      this.#inflightEvents -= eventsOf(entry)
      this.#end(entry)
    }
  }

  /** Gives back the room a job (or a batch) held while it waited. */
  release(entry: Entry): void {
    this.#budget.releaseMany(eventsOf(entry), roomOf(entry))
  }

  /** Drops a job (or a batch) that holds room in the budget. */
  dropWaiting(entry: Entry, reason: DropReason): void {
    this.release(entry)
    this.#reports.drop(entry, reason)
  }

  /** At close, past its deadline: every attempt in flight is dropped (`closed`), its room given back. */
  dropInflight(): void {
    for (const entry of this.#inflight) {
      this.#end(entry)
      this.#reports.drop(entry, 'closed')
    }
    this.#inflight.clear()
    this.#inflightEvents = 0
  }

  /** Gives back the bytes a job (or a batch) held in flight, its written body's included. */
  #end(entry: Entry): void {
    this.#budget.ended(roomOf(entry) + entry.sendBytes)
    forgetBody(entry)
  }
}

/** Lets go of an entry's written body (it is written again for its next attempt). */
function forgetBody(entry: Entry): void {
  entry.sendable = undefined
  entry.sendBytes = 0
}
