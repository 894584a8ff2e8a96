/**
 * The dispatcher's narrow interface: what the front hands it, and what it hands back. Plain data only,
 * so that the dispatcher could run on a worker thread.
 */
import type { HookEvent } from '../events.ts'
import type { DropReason, WebhookResponse } from '../webhook-types.ts'
import type { AttemptOutcome } from './retry.ts'

/** One event to deliver. */
export interface DeliveryJob {
  /** Names the event (the front turns it into the `webhook-id`); a number, so a waiting job holds no string for it. */
  id: number
  /** The exact body, or a promise of it while a big payload is being encoded. */
  body: string | Promise<string>
  /** Events with the same key are delivered one at a time, in order (with `ordered`). */
  key: string
  event: HookEvent
}

/** Sends one attempt; resolves with the response, rejects like a network error. */
export type AttemptSender = (
  job: { id: number; body: string; event: HookEvent },
  attempt: number,
  signal: AbortSignal,
) => Promise<WebhookResponse>

export interface DispatcherCallbacks {
  delivered(job: DeliveryJob, attempts: number, status: number): void
  failed(job: DeliveryJob, attempts: number, outcome: AttemptOutcome): void
  dropped(job: DeliveryJob, attempts: number, reason: DropReason): void
}

export interface DispatcherOptions {
  /** Most attempts in flight at once. */
  poolSize: number
  /** Most jobs waiting; past it the oldest waiting job is dropped (`queue_full`). */
  maxQueue: number
  /** One job per key at a time, in order. */
  ordered: boolean
  /** One attempt's deadline, in ms. */
  cancelTimeout: number
  retry: { maxAttempts: number; baseDelay: number; maxDelay: number }
  send: AttemptSender
  /** Strings that must never appear in a failure message (secrets, header values). */
  sensitive: readonly string[]
  callbacks: DispatcherCallbacks
}

export interface DispatcherStats {
  queued: number
  inflight: number
  success: number
  failed: number
  retried: number
  dropped: number
  dropped_by_reason: Record<DropReason, number>
}
