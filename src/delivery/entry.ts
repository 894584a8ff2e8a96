/**
 * The dispatcher's unit of work: a job with its delivery state, and the arithmetic every step needs on it
 * (how many events, how many bytes). A batch is its lead entry carrying the batch (itself first), so that
 * each step handles one entry whatever `batch` says.
 */
import { type AttemptSender, bytesOf, type DeliveryJob } from './job.ts'
import type { Schedulable } from './scheduler.ts'

export type SendableEntry = Parameters<AttemptSender>[0]

type EntryState = 'waiting' | 'body' | 'backoff' | 'ready' | 'inflight' | 'done'

/** A job and its delivery state; the scheduler's links live on it so that queueing allocates nothing more. */
export interface Entry extends DeliveryJob, Schedulable {
  attempts: number
  state: EntryState
  /** The body promise was rejected: the job fails when its turn comes. */
  bodyError: boolean
  /** Taken from the scheduler with `next()`: its key stays busy until it is finished. */
  holdsKey: boolean
  /** The retry timer, while in backoff. */
  timer: NodeJS.Timeout | undefined
  /** When it was enqueued (ms, `Date.now()`), for `batch.max_delay_ms`; 0 without batching. */
  arrivedAt: number
  /** On a batch's lead entry: the whole batch, itself first, in body order. */
  batch: Entry[] | undefined
  /** On a member of a batch: its lead, which carries the attempt's state. */
  lead: Entry | undefined
  /** Its bytes in the budget, held while it waits and while it is in flight. */
  size: number
  /** From when its attempt is prepared until it ends: what it sends, and the bytes that adds to `size`. */
  sendable: SendableEntry | undefined
  sendBytes: number
}

/** All fields set at once, in one order, so that every entry shares one hidden class. */
export function newEntry(job: DeliveryJob, arrivedAt: number): Entry {
  return {
    id: job.id,
    eventIndex: job.eventIndex,
    body: job.body,
    key: job.key,
    older: undefined,
    newer: undefined,
    laneNext: undefined,
    attempts: 0,
    state: 'waiting',
    bodyError: false,
    holdsKey: false,
    timer: undefined,
    arrivedAt,
    batch: undefined,
    lead: undefined,
    seq: job.seq,
    size: bytesOf(job),
    sendable: undefined,
    sendBytes: 0,
  }
}

/** The events an entry stands for: a batch counts all of its. */
export function eventsOf(entry: Entry): number {
  return entry.batch?.length ?? 1
}

/** The bytes a job, or a whole batch, takes in the budget. */
export function roomOf(entry: Entry): number {
  if (entry.batch === undefined) return entry.size
  let bytes = 0
  for (const member of entry.batch) bytes += member.size
  return bytes
}

export function hasPendingBody(entry: Entry): boolean {
  return entry.body instanceof Promise
}
