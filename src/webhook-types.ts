import type { DeadLetterFilter, StoreStats } from './delivery/store/types.ts'
import type { HookEvent, HookEventName } from './events.ts'

/** What the sender POSTs; `options.send` receives it in place of an HTTP request. */
export interface WebhookRequest {
  /** The configured endpoint, credentials included (they are only kept out of messages and logs). */
  url: string
  /** The configured headers, lower-case names, and the Standard Webhooks headers when `secret` is set. */
  headers: Record<string, string>
  /** The exact bytes of the body, compact JSON (with `batch`: a JSON array of bodies). */
  body: string
  /** Aborts at `cancel_timeout` or when the webhook is closed. */
  signal: AbortSignal
  /** The event being delivered (with `batch`: the first of the request). */
  event: HookEvent
  /** Every event of the request, in body order: one, or with `batch` the array's. */
  events: HookEvent[]
  /** 1 for the first attempt. */
  attempt: number
}

/** What `options.send` resolves with: the part of an HTTP response that decides the attempt. */
export interface WebhookResponse {
  /** The HTTP status: 2xx delivers; 408, 429 and 5xx retry; anything else fails at once. */
  status: number
  /** Lower-case header names; `retry-after` is honoured. */
  headers?: Record<string, string | undefined>
}

/** A pino-compatible logger (only these methods are used). */
export interface Logger {
  /** Details for debugging: each failed event's reason. */
  debug(obj: object, msg?: string): void
  /** What happens in the normal course of things. */
  info(obj: object, msg?: string): void
  /** Something is wrong but the webhook goes on: bad input, an adapter error, `verify_peer: false`. */
  warn(obj: object, msg?: string): void
  /** Not used per event, so that a dead endpoint cannot flood the log. */
  error(obj: object, msg?: string): void
}

/** The second argument of `createWebhook`: what is not configuration (code, not data). */
export interface WebhookOptions {
  /**
   * Replaces the HTTP sender, so that what would be posted can be unit-tested without a server.
   * Resolve with the response status; reject like a network error.
   */
  send?: ((request: WebhookRequest) => Promise<WebhookResponse>) | undefined
  /** Receives warnings and debug lines; nothing is logged at error level per event. */
  logger?: Logger | undefined
  /**
   * The delivery thread's CPU priority (Linux; elsewhere it keeps the process's). `idle` lets the broker's
   * thread keep its core while delivery keeps up, and competes once events wait; it needs CAP_SYS_NICE or
   * an RLIMIT_NICE of 20 to come back, and without either it acts as `normal` (docs/delivery.md). `normal`
   * lets deliveries compete with the broker throughout. Without effect with `send`, where delivery runs on
   * the caller's thread.
   * @default 'idle'
   */
  deliveryPriority?: DeliveryPriority | undefined
}

/**
 * `idle`: the delivery thread runs on what the broker and the rest of the machine leave (SCHED_IDLE, or
 * nice 19 where util-linux's `chrt` is missing): under a sustained full load, events wait, and past
 * `max_queue` the oldest are dropped. `normal`: it competes with the broker's thread on equal terms.
 */
export type DeliveryPriority = 'idle' | 'normal'

/**
 * Why an event was dropped without delivery: `queue_full`, pushed out of a full queue (`max_queue`) by a
 * newer one; `queue_bytes_full`, the same past `max_queue_bytes` (or bigger than it on its own); `closed`,
 * still waiting (or arriving) when `close()` gave up waiting.
 */
export type DropReason = 'queue_full' | 'queue_bytes_full' | 'closed'

/**
 * Why an event failed, from its last attempt: `http_4xx`, `http_5xx`, `http_other` (another status, a 3xx:
 * redirects are not followed), by the status of the response; without one, `timeout` (no complete response
 * within `cancel_timeout`), `tls` (handshake or certificate refused), `network` (a system error:
 * `ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`...), `other` (anything else: a body that could not be encoded,
 * the delivery thread lost, an `options.send` that threw without a code).
 */
export type FailureReason = 'http_4xx' | 'http_5xx' | 'http_other' | 'timeout' | 'network' | 'tls' | 'other'

/** A Prometheus-style histogram of HTTP attempt durations, in seconds, since creation. */
export interface RequestDurationStats {
  /** The buckets' upper bounds, in seconds, ascending (fixed: 0.005 to 10). */
  buckets: number[]
  /** Cumulative: `counts[i]` attempts took at most `buckets[i]` seconds. */
  counts: number[]
  /** The attempts' durations added up, in seconds. */
  sum: number
  /** Every attempt (the `+Inf` bucket). */
  count: number
}

/** The `delivered` report: an event the endpoint accepted. */
export interface DeliveredReport {
  /** The event, with `ts`/`connected_at` as its body had them. */
  event: HookEvent
  /** The `webhook-id`, the same on every attempt. */
  id: string
  /** Attempts made, 1 for the first. */
  attempts: number
  /** The 2xx status that accepted it. */
  status: number
}

/** The `failed` report: an event given up on after its last attempt, or refused at once. */
export interface FailedReport {
  /** The event, with `ts`/`connected_at` as its body had them. */
  event: HookEvent
  /** The `webhook-id`, the same on every attempt. */
  id: string
  /** Attempts made, at most `retry.max_attempts`. */
  attempts: number
  /** The last HTTP status, when there was a response. */
  status?: number | undefined
  /** The last error code (`ECONNREFUSED`, `ETIMEDOUT`, `ERR_TLS_CERT_ALTNAME_INVALID`...), when there was no response. */
  code?: string | undefined
  /** A one-line description, free of secrets. */
  message: string
}

/** The `dropped` report: an event lost without being delivered or failed. */
export interface DroppedReport {
  /** The event, with `ts`/`connected_at` as its body had them. */
  event: HookEvent
  /** The `webhook-id` it had (or would have had). */
  id: string
  /** Attempts made before it was dropped (0 when it never left the queue). */
  attempts: number
  /** Why it was dropped. */
  reason: DropReason
}

/**
 * What `webhook.stats()` returns: counts since creation and levels now. Also served as Prometheus metrics
 * by `mqtt-webhook/metrics`.
 */
export interface WebhookStats {
  /** Events that matched a rule, since creation. */
  matched: number
  /** Events waiting now (not yet in flight, including those waiting for a retry); never above `max_queue`. */
  queued: number
  /** Bytes of the events waiting now (their bodies, or their fields for message events); never above `max_queue_bytes`. */
  queued_bytes: number
  /** Requests in flight now. */
  inflight: number
  /**
   * Bytes of the events in flight now; with `queued_bytes`, never above `max_queue_bytes`. Always given by
   * `webhook.stats()`.
   */
  inflight_bytes?: number
  /** Events delivered with a 2xx. */
  success: number
  /** Events given up on after their last attempt. */
  failed: number
  /** Events given up on, by the reason of their last attempt; they add up to `failed`. */
  failed_by_reason?: Record<FailureReason, number>
  /**
   * How long HTTP attempts took, from the request's start to its response or error: every attempt (a batch's
   * request counts once), retries included.
   */
  request_duration_seconds?: RequestDurationStats
  /** Attempts that were retried. */
  retried: number
  /** Events dropped, all reasons. */
  dropped: number
  /** Events dropped, by reason; they add up to `dropped`. */
  dropped_by_reason: Record<DropReason, number>
  /**
   * Events delivered, by event name: the enabled events, and any other with a count (a dead letter
   * replayed after its event was disabled). They add up to `success`; a batch counts each of its events.
   */
  delivered_by_event?: Partial<Record<HookEventName, number>>
  /** Events failed, by event name and by the reason of their last attempt; they add up to `failed`. */
  failed_by_event?: Partial<Record<HookEventName, Record<FailureReason, number>>>
  /** Attempts retried, by the name of their event (a batch's retry counts each event); they add up to `retried`. */
  retried_by_event?: Partial<Record<HookEventName, number>>
  /** Events dropped, by event name and reason; they add up to `dropped`. */
  dropped_by_event?: Partial<Record<HookEventName, Record<DropReason, number>>>
  /**
   * The endpoint is paused now: it answered 429/503 with `Retry-After`, or it kept failing and its
   * circuit is open. Nothing is sent meanwhile; events wait, and count as `queued`.
   */
  paused?: boolean
  /** Until when it is paused, in ms since the epoch; `null` when it is not. */
  paused_until?: number | null
  /** Per-event counts, for the events that are enabled. */
  events: Partial<Record<HookEventName, EventCounts>>
  /** Problems passed to `reportError` since creation (bad input to `handle()`, adapter errors). */
  errors?: number
  /** The queue store (`queue.store`): written, recovered, replayed, dead letters, write errors. */
  store?: StoreStats
}

/** The counts kept for each enabled event. */
export interface EventCounts {
  /** Events of this name that matched a rule. */
  matched: number
}

/**
 * What a webhook emits. `delivered`, `failed` and `dropped` are emitted for the events handled while
 * someone listened to one of them (the webhook keeps an event for its report only then); every outcome is
 * counted in `stats()` all the same.
 */
export interface WebhookEvents {
  /** An event the endpoint accepted. */
  delivered: [DeliveredReport]
  /** An event given up on: the report carries the last status or error code. */
  failed: [FailedReport]
  /** An event lost from a full queue or at close. */
  dropped: [DroppedReport]
  /** Problems that are not about one delivery: bad bytes on an observed stream, an adapter hook that threw. */
  error: [Error]
}

/**
 * A webhook, as `createWebhook` returns it: it takes events from an adapter (or from you), and posts the
 * matching ones from a bounded queue.
 */
export interface Webhook {
  /**
   * Matches, formats and enqueues. Synchronous: never awaits the network, never throws (bad input is
   * reported as `'error'` and counted in `stats().errors`).
   */
  handle(event: HookEvent): void
  /** Counts since creation and levels now; cheap enough to call on every scrape. */
  stats(): WebhookStats
  /** Resolves when the queue is empty and nothing is in flight. */
  flush(): Promise<void>
  /**
   * Stops accepting events (later ones are reported dropped, `closed`), lets the queue drain for up to
   * `timeout_ms` milliseconds (default 10000), then aborts what is in flight and reports everything left as
   * dropped (`closed`). Idempotent; never rejects.
   */
  close(options?: { timeout_ms?: number | undefined }): Promise<void>
  /** Listens to a report or to `'error'`; listening to a report makes the webhook keep events for it. */
  on<K extends keyof WebhookEvents>(name: K, listener: (...args: WebhookEvents[K]) => void): this
  /** Listens to the next one only. */
  once<K extends keyof WebhookEvents>(name: K, listener: (...args: WebhookEvents[K]) => void): this
  /** Stops listening. */
  off<K extends keyof WebhookEvents>(name: K, listener: (...args: WebhookEvents[K]) => void): this
  /** Reports an error that is not about one delivery (used by adapters); emitted as `'error'` if anyone listens. */
  reportError(error: Error): void
  /** Whether any rule could fire for this event name; adapters use it to skip work nobody asked for. */
  wants(name: HookEventName): boolean
  /**
   * Sends the dead letters matching `filter` again, with their original body and `webhook-id`; returns how
   * many. Only `queue: { store: 'sqlite' }` keeps dead letters (events that failed for good).
   */
  replay(filter?: DeadLetterFilter): number
}
