/**
 * The dispatcher's narrow interface: what the front hands it, and what it hands back. Plain data only,
 * so that the dispatcher could run on a worker thread.
 */

import type { DropReason, WebhookResponse, WebhookStats } from '../webhook-types.ts'
import type { Claims, QueueBudget } from './budget.ts'
import type { DeliveryMetrics } from './delivery-metrics.ts'
import type { MessageHookEvent } from './message-record.ts'
import type { AttemptOutcome } from './retry.ts'

/**
 * A body ready to send: text, or its UTF-8 bytes (the delivery thread gets bodies as bytes, so that
 * queued bodies live outside the JavaScript heap).
 */
export type Body = string | Buffer

/** One event to deliver. */
export interface DeliveryJob {
  /** Names the event (the front turns it into the `webhook-id`); a number, so a waiting job holds no string for it. */
  id: number
  /** Its event's name, as its index in `HOOK_EVENT_NAMES` (`eventIndex()`): outcomes are counted by event name. */
  eventIndex: number
  /** The exact body, or a promise of it while a big payload is being encoded. */
  body: Body | Promise<string>
  /** Events with the same key are delivered one at a time, in order (with `ordered`). */
  key: string
  /**
   * Its number in hand-over order, when the broker's thread handed it to the delivery thread: it then
   * reserved its room in the budget already, and may revoke it (`Claims`).
   */
  seq?: number
  /** While its body is a promise: the bytes to reserve for it meanwhile. */
  bytesHint?: number
}

/**
 * Sends one attempt; resolves with the response, rejects like a network error. With `batch`, the request
 * carries its members' bodies as one JSON array, and `id` (the first member's) names it.
 */
export type AttemptSender = (
  job: { id: number; body: Body; batch?: ReadonlyArray<{ id: number; body: Body }> },
  attempt: number,
  signal: AbortSignal,
) => Promise<WebhookResponse>

/** How each job ended, by its id: every job ends in exactly one of these. */
export interface DispatcherCallbacks {
  delivered(id: number, attempts: number, status: number): void
  failed(id: number, attempts: number, outcome: AttemptOutcome): void
  dropped(id: number, attempts: number, reason: DropReason): void
}

/** What the front delivers through: the dispatcher itself, or the same on a worker thread (`thread.ts`). */
export interface Delivery {
  enqueue(job: DeliveryJob): void
  /**
   * Takes a message event as its fields, to be formatted where it is sent (only a delivery on another
   * thread has this). Given only events that `recordable()` accepts.
   */
  enqueueMessage?(id: number, event: MessageHookEvent, key: string): void
  stats(): DispatcherStats
  /** Resolves when every accepted job has been reported. */
  flush(): Promise<void>
  /** Stops accepting, drains until `timeoutMs`, then drops what is left as `closed`. Idempotent. */
  close(timeoutMs: number): Promise<void>
}

export interface DispatcherOptions {
  /** Most attempts in flight at once. */
  poolSize: number
  /** Most jobs and bytes waiting (shared with the broker's thread when the dispatcher runs on its own). */
  budget: QueueBudget
  /** With `budget` shared: who takes each handed-over job. */
  claims?: Claims
  /** One job per key at a time, in order. */
  ordered: boolean
  /** One attempt's deadline, in ms. */
  cancelTimeout: number
  retry: { maxAttempts: number; baseDelay: number; maxDelay: number }
  /** With it, one request carries up to `maxEvents` jobs; absent, one each. */
  batch?: { maxEvents: number; maxDelayMs: number } | undefined
  send: AttemptSender
  /**
   * Writes the body an attempt sends from the body a job waits with (a message record, on the delivery
   * thread). A new body's bytes are held in the budget while its attempt is in flight. Absent: bodies go as
   * they wait.
   */
  format?: ((body: Body) => Body) | undefined
  /** Strings that must never appear in a failure message (secrets, header values). */
  sensitive: readonly string[]
  callbacks: DispatcherCallbacks
  /** Where request durations and failure reasons are kept (the shared counters, on the delivery thread); its own when absent. */
  metrics?: DeliveryMetrics | undefined
}

/** The delivery side's share of `WebhookStats`: the front adds what it counts itself. */
export type DispatcherStats = Required<
  Pick<
    WebhookStats,
    | 'paused'
    | 'paused_until'
    | 'failed_by_reason'
    | 'request_duration_seconds'
    | 'delivered_by_event'
    | 'failed_by_event'
    | 'retried_by_event'
    | 'dropped_by_event'
    | 'inflight_bytes'
  >
> &
  Pick<
    WebhookStats,
    | 'queued'
    | 'queued_bytes'
    | 'inflight'
    | 'success'
    | 'failed'
    | 'retried'
    | 'dropped'
    | 'dropped_by_reason'
  >

/** What a waiting body costs in the budget: its UTF-8 bytes. */
export function bodyBytes(body: Body): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.length
}

/** The room a job takes while it waits: its body's bytes, or while the body is encoded, its hint. */
export function bytesOf(job: DeliveryJob): number {
  return job.body instanceof Promise ? (job.bytesHint ?? 0) : bodyBytes(job.body)
}
