import type { HookEvent, HookEventName } from './events.ts'

/** What the sender POSTs; `options.send` receives it in place of an HTTP request. */
export interface WebhookRequest {
  url: string
  headers: Record<string, string>
  /** The exact bytes of the body, compact JSON. */
  body: string
  /** Aborts at `cancel_timeout` or when the webhook is closed. */
  signal: AbortSignal
  /** The event being delivered. */
  event: HookEvent
  /** 1 for the first attempt. */
  attempt: number
}

export interface WebhookResponse {
  status: number
  /** Lower-case header names; `retry-after` is honoured. */
  headers?: Record<string, string | undefined>
}

/** A pino-compatible logger (only these methods are used). */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface WebhookOptions {
  /**
   * Replaces the HTTP sender, so that what would be posted can be unit-tested without a server.
   * Resolve with the response status; reject like a network error.
   */
  send?: (request: WebhookRequest) => Promise<WebhookResponse>
  /** Receives warnings and debug lines; nothing is logged at error level per event. */
  logger?: Logger
  /**
   * The delivery thread's CPU priority (Linux; elsewhere it keeps the process's). `idle` lets the broker's
   * thread keep its core; `normal` lets deliveries compete with it. Without effect with `send`, where
   * delivery runs on the caller's thread.
   * @default 'idle'
   */
  deliveryPriority?: DeliveryPriority
}

/**
 * `idle`: the delivery thread runs on what the broker and the rest of the machine leave (SCHED_IDLE, or
 * nice 19 where util-linux's `chrt` is missing): under a sustained full load, events wait, and past
 * `max_queue` the oldest are dropped. `normal`: it competes with the broker's thread on equal terms.
 */
export type DeliveryPriority = 'idle' | 'normal'

/**
 * Why an event was dropped: `queue_full` past `max_queue` waiting events, `queue_bytes_full` past
 * `max_queue_bytes` of them (the oldest waiting make room), `closed` when the webhook closed before it was
 * delivered.
 */
export type DropReason = 'queue_full' | 'queue_bytes_full' | 'closed'

export interface DeliveredReport {
  event: HookEvent
  /** The `webhook-id`, the same on every attempt. */
  id: string
  attempts: number
  status: number
}

export interface FailedReport {
  event: HookEvent
  id: string
  attempts: number
  /** The last HTTP status, when there was a response. */
  status?: number
  /** The last error code (`ECONNREFUSED`, `ETIMEDOUT`, `ERR_TLS_CERT_ALTNAME_INVALID`...), when there was no response. */
  code?: string
  /** A one-line description, free of secrets. */
  message: string
}

export interface DroppedReport {
  event: HookEvent
  id: string
  /** Attempts made before it was dropped (0 when it never left the queue). */
  attempts: number
  reason: DropReason
}

export interface WebhookStats {
  /** Events that matched a rule, since creation. */
  matched: number
  /** Events waiting now (not yet in flight, including those waiting for a retry); never above `max_queue`. */
  queued: number
  /** Bytes of the events waiting now (their bodies, or their fields for message events); never above `max_queue_bytes`. */
  queued_bytes: number
  /** Requests in flight now. */
  inflight: number
  /** Events delivered with a 2xx. */
  success: number
  /** Events given up on after their last attempt. */
  failed: number
  /** Attempts that were retried. */
  retried: number
  /** Events dropped, all reasons. */
  dropped: number
  dropped_by_reason: Record<DropReason, number>
  /** Per-event counts, for the events that are enabled. */
  events: Partial<Record<HookEventName, { matched: number }>>
  /** Problems passed to `reportError` since creation (bad input to `handle()`, adapter errors). */
  errors?: number
}

/**
 * What a webhook emits. `delivered`, `failed` and `dropped` are emitted for the events handled while
 * someone listened to one of them (the webhook keeps an event for its report only then); every outcome is
 * counted in `stats()` all the same.
 */
export interface WebhookEvents {
  delivered: [DeliveredReport]
  failed: [FailedReport]
  dropped: [DroppedReport]
  /** Problems that are not about one delivery: bad bytes on an observed stream, an adapter hook that threw. */
  error: [Error]
}

export interface Webhook {
  /** Matches, formats and enqueues. Synchronous: never awaits the network, never throws. */
  handle(event: HookEvent): void
  stats(): WebhookStats
  /** Resolves when the queue is empty and nothing is in flight. */
  flush(): Promise<void>
  /** Stops accepting events, drains up to the deadline, and reports the rest as dropped (`closed`). */
  close(options?: { timeout_ms?: number }): Promise<void>
  on<K extends keyof WebhookEvents>(name: K, listener: (...args: WebhookEvents[K]) => void): this
  once<K extends keyof WebhookEvents>(name: K, listener: (...args: WebhookEvents[K]) => void): this
  off<K extends keyof WebhookEvents>(name: K, listener: (...args: WebhookEvents[K]) => void): this
  /** Reports an error that is not about one delivery (used by adapters); emitted as `'error'` if anyone listens. */
  reportError(error: Error): void
  /** Whether any rule could fire for this event name; adapters use it to skip work nobody asked for. */
  wants(name: HookEventName): boolean
}
