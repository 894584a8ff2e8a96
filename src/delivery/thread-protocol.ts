/**
 * What the broker's thread and the delivery thread say to each other (see `thread.ts`). Plain data,
 * batched: one message carries every job or report of a turn of the event loop.
 */
import type { ResolvedConfig } from '../config-types.ts'
import type { DeliveryPriority, DropReason } from '../webhook-types.ts'
import type { AttemptOutcome } from './retry.ts'

export interface DeliveryThreadData {
  config: ResolvedConfig
  /** The `webhook-id` of job `n` is this prefix followed by `n` in base 36. */
  idPrefix: string
  /** Strings that must never appear in a failure message. */
  sensitive: readonly string[]
  /**
   * Levels the delivery thread keeps current, indexed by `Counter`; then, from `COUNTER_COUNT`, the
   * dispatcher's `DeliveryMetrics` cells (every outcome, by event name), written in place as jobs end.
   */
  counters: SharedArrayBuffer
  /** The queue's budget cells (`QueueBudget`), shared by both threads. */
  budget: SharedArrayBuffer
  /** Who takes each handed-over job (`Claims`). */
  claims: SharedArrayBuffer
  priority: DeliveryPriority
}

/** Indexes into the shared counters (a Float64Array: counts outgrow 32 bits on a long-lived broker). */
export const Counter = {
  received: 0,
  queued: 1,
  inflight: 2,
  /** Until when the endpoint is paused (ms since the epoch), 0 when it is not. */
  pausedUntil: 3,
  /**
   * Written by the broker's thread as it hands jobs over: its event loop's utilization (0–1) over the
   * last {@link LOAD_SAMPLE_MS} or more, and when it was measured (ms since the epoch).
   */
  brokerLoad: 4,
  brokerLoadAt: 5,
  /** The delivery thread's kernel id (Linux), written as it starts; 0 until then. */
  thread: 6,
  /** When the delivery thread's governor last ran (ms since the epoch): stale, it gets no core. */
  tickAt: 7,
  /**
   * 1 while the delivery thread runs at the process's priority: kept by its governor, set by the broker's
   * thread too when it raises a starved delivery thread (`StarvationGuard`).
   */
  raised: 8,
} as const
export const COUNTER_COUNT = 9

/** How often at most the broker's thread measures its load. */
export const LOAD_SAMPLE_MS = 100
/** A measure of the broker's load older than this (ms) tells nothing of now. */
export const LOAD_STALE_MS = 5 * LOAD_SAMPLE_MS

/** How a dropped report names its reason across the threads. */
export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'closed', 'queue_bytes_full']

export type ToDeliveryThread =
  /**
   * Jobs in arrival order. Job `i`'s body is the UTF-8 of `bytes[offsets[i], offsets[i + 1])`, and `bytes`
   * is transferred, not copied. `events[i]` is its event's `eventIndex`. `keys` only when delivery is
   * ordered per client. Jobs are numbered in hand-over order (`Claims`), from 0: the first job of this
   * message is `seq`.
   */
  | {
      type: 'jobs'
      seq: number
      ids: number[]
      events: number[]
      offsets: number[]
      bytes: ArrayBuffer
      keys?: string[]
    }
  | { type: 'flush'; seq: number }
  | { type: 'close'; timeoutMs: number }

export interface FailedJob {
  id: number
  attempts: number
  outcome: AttemptOutcome
}

export type FromDeliveryThread =
  /** A batch of jobs was taken: the next one may come. */
  | { type: 'taken' }
  | {
      type: 'reports'
      /** Flattened triples: id, attempts, status. */
      delivered: number[]
      failed: FailedJob[]
      /** Flattened triples: id, attempts, the reason's index in `DROP_REASONS`. */
      dropped: number[]
    }
  | { type: 'flushed'; seq: number }
  | { type: 'closed' }
  /**
   * The delivery thread (its kernel id) has come back to nice 0: its scheduling policy goes back to
   * SCHED_OTHER from the broker's thread (`raiseThreadPolicy`).
   */
  | { type: 'raise'; thread: string }
