/**
 * What an attempt sends: its body written (`options.format`) from the body it waited with, the bytes a new
 * body takes in flight beside the waiting ones, and the events whose body cannot be written, which fail
 * alone while the rest of their batch goes on.
 */
import type { QueueBudget } from './budget.ts'
import type { Entry, SendableEntry } from './entry.ts'
import { type Body, bodyBytes, type DispatcherOptions } from './job.ts'
import type { ParkedJobs } from './parked.ts'
import type { Reports } from './reports.ts'
import type { AttemptOutcome } from './retry.ts'
import type { Room } from './room.ts'

/** A fresh one each time: it goes to the front's callback, which owns it. */
function unencodable(): AttemptOutcome {
  return { kind: 'fail', code: 'ERR_SERIALIZE', message: 'the body could not be encoded' }
}

export class BodyWriter {
  readonly #format: DispatcherOptions['format']
  readonly #budget: QueueBudget
  readonly #room: Room
  readonly #reports: Reports
  readonly #parked: ParkedJobs

  constructor(options: DispatcherOptions, room: Room, reports: Reports, parked: ParkedJobs) {
    this.#format = options.format
    this.#budget = options.budget
    this.#room = room
    this.#reports = reports
    this.#parked = parked
  }

  /**
   * Writes what the attempt sends, and the bytes that takes beside the waiting bodies. A body that cannot
   * be written fails the event (`dropUnencodable`).
   */
  prepare(entry: Entry): void {
    const format = this.#format
    entry.sendBytes = 0
    if (format === undefined) {
      entry.sendable = entry as SendableEntry
      return
    }
    const written = (member: Entry): Body => {
      try {
        const body = format(member.body as Body)
        if (body !== member.body) entry.sendBytes += bodyBytes(body)
        return body
      } catch {
        member.bodyError = true
        return ''
      }
    }
    if (entry.batch === undefined) entry.sendable = { id: entry.id, body: written(entry) }
    else {
      const batch = entry.batch.map((member) => ({ id: member.id, body: written(member) }))
      entry.sendable = { id: entry.id, body: '', batch }
    }
  }

  /**
   * Writes again the body of a job that waited for room (the same bytes: it took their room); false when
   * nothing of it is left to send.
   */
  rewrite(entry: Entry): boolean {
    const budget = this.#budget
    const taken = entry.sendBytes
    this.prepare(entry)
    budget.ended(taken)
    budget.takeInflight(entry.sendBytes, true)
    if (this.dropUnencodable(entry)) return true
    budget.ended(entry.sendBytes)
    entry.sendBytes = 0
    return false
  }

  /** Fails the events whose body could not be encoded; whether anything of `entry` is left to send. */
  dropUnencodable(entry: Entry): boolean {
    const failure = unencodable()
    if (entry.batch === undefined) {
      if (entry.bodyError) {
        this.#room.release(entry)
        this.#reports.fail(entry, failure)
      }
      return !entry.bodyError
    }
    if (!entry.batch.some((member) => member.bodyError)) return true
    for (const member of entry.batch)
      if (member.bodyError) {
        this.#budget.release(member.size)
        this.#reports.failOne(member, failure)
      }
    const rest = entry.batch.filter((member) => !member.bodyError)
    entry.batch = undefined
    const lead = rest[0]
    if (lead === undefined) return false
    // The first event left leads the batch: its id names the request.
    for (const member of rest) member.lead = lead
    lead.lead = undefined
    lead.batch = rest
    lead.attempts = entry.attempts
    entry.sendable = undefined
    this.#parked.ready(lead)
    return false
  }
}
