/**
 * `createWebhook`: the front that runs on the caller's (the broker's) thread. `handle()` matches, stamps,
 * serializes, names and enqueues; everything after that is the dispatcher's (`src/delivery/`), which
 * talks back only through plain-data callbacks.
 */
import { EventEmitter } from 'node:events'
import { resolveConfig } from './config.ts'
import type { PayloadEncoding, ResolvedConfig, WebhookConfig } from './config-types.ts'
import { QueueBudget } from './delivery/budget.ts'
import { eventIndex } from './delivery/delivery-metrics.ts'
import { Dispatcher } from './delivery/dispatcher.ts'
import type { Delivery, DispatcherCallbacks, DispatcherStats } from './delivery/job.ts'
import { recordable } from './delivery/message-record.ts'
import type { AttemptOutcome } from './delivery/retry.ts'
import { createSender, type Sender } from './delivery/sender.ts'
import { type DeadLetterFilter, openStore, type QueueStore } from './delivery/store/index.ts'
import { eventFromStored } from './delivery/store/rebuild.ts'
import { type NamedJob, StoredDelivery } from './delivery/store/stored-delivery.ts'
import { DeliveryThread } from './delivery/thread.ts'
import { resolveDeliveryPriority } from './delivery/thread-priority.ts'
import { WebhookConfigError } from './errors.ts'
import type { HookEvent, HookEventName } from './events.ts'
import { serializeEvent } from './format.ts'
import { createMatcher } from './rules.ts'
import { redact, redactUrl, sensitiveStringsOf } from './security/redact.ts'
import type {
  DropReason,
  FailedReport,
  Logger,
  Webhook,
  WebhookEvents,
  WebhookOptions,
  WebhookStats,
} from './webhook-types.ts'

/** How long `close()` lets queued and in-flight work drain before dropping it, when not told. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000

/** The reports that carry their event. */
const REPORTS: ReadonlySet<string | symbol> = new Set(['delivered', 'failed', 'dropped'])

/** Builds a webhook from `config`; throws `WebhookConfigError` on bad configuration. */
export function createWebhook(config: WebhookConfig, options: WebhookOptions = {}): Webhook {
  return new HttpWebhook(resolveConfig(config), options, sensitiveStringsOf(config))
}

class HttpWebhook extends EventEmitter implements Webhook {
  readonly #logger: Logger | undefined
  readonly #wanted: ReadonlySet<HookEventName>
  readonly #matches: (event: HookEvent) => boolean
  readonly #encoding: PayloadEncoding
  readonly #url: string
  readonly #sensitive: readonly string[]
  /** Only with `options.send`: delivery then stays on this thread, since a function cannot cross threads. */
  readonly #sender: Sender | undefined
  readonly #delivery: Delivery | undefined
  /** `queue.store`; with a durable one, `#delivery` is a `StoredDelivery` over the real one. */
  readonly #store: QueueStore | undefined
  /**
   * The events of jobs not yet reported, by id: reports carry the event, and `options.send` gets it.
   * Kept only while someone listens to a report (or with `options.send`): in a burst of 200,000 events,
   * keeping them for nobody tripled the broker thread's heap (63 MB against 20) and made handle() half again as costly.
   */
  readonly #events = new Map<number, HookEvent>()
  #keepEvents = false
  /** The store's: a durable store keeps it, so that an event keeps its `webhook-id` across restarts. */
  readonly #idPrefix: string
  #idCounter: number
  #matched = 0
  #errors = 0
  readonly #perEvent: Partial<Record<HookEventName, { matched: number }>> = {}

  constructor(config: ResolvedConfig, options: WebhookOptions, sensitive: readonly string[]) {
    super()
    this.#logger = options.logger
    this.#wanted = new Set(config.enable ? config.rules.keys() : [])
    this.#matches = createMatcher(config.rules)
    this.#encoding = config.encoding
    this.#url = redactUrl(config.url)
    this.#sensitive = sensitive
    const priority = resolveDeliveryPriority(options.deliveryPriority)
    // Reported after a turn, so that listeners attached right after creation hear about a bad store file.
    const store = openStore(config.enable ? config.queue : { store: 'memory' }, (error) =>
      setImmediate(() => this.reportError(error)),
    )
    this.#idPrefix = store.idPrefix
    this.#idCounter = store.firstId
    if (!config.enable) return
    this.#store = store
    const durable = store.kind !== 'memory'
    const settled = (callbacks: DispatcherCallbacks) =>
      durable ? StoredDelivery.settling(store, callbacks) : callbacks
    for (const name of this.#wanted) this.#perEvent[name] = { matched: 0 }
    if (config.tls?.rejectUnauthorized === false) this.#warnUnverified()
    this.#trackReportListeners()
    const send = options.send
    if (send === undefined) {
      this.#delivery = this.#withStore(
        new DeliveryThread({
          config,
          idPrefix: this.#idPrefix,
          sensitive,
          priority,
          callbacks: {
            ...settled(this.#reporters()),
            lost: (error) => this.#lost(error),
            abandoned: () => this.#abandoned(),
          },
        }),
      )
      return
    }
    this.#keepEvents = true
    this.#sender = createSender(config, (id) => this.#webhookId(id), {
      send,
      eventOf: (id) => this.#events.get(id) as HookEvent,
    })
    this.#delivery = this.#withStore(
      new Dispatcher({
        poolSize: config.poolSize,
        budget: QueueBudget.create(config.maxQueue, config.maxQueueBytes, false),
        ordered: config.ordering === 'per-client',
        cancelTimeout: config.cancelTimeout,
        retry: config.retry,
        batch: config.batch,
        send: this.#sender.send,
        sensitive,
        callbacks: settled(this.#reporters()),
      }),
    )
  }

  /** With a durable store, the delivery writes through it, and starts with what an earlier run left. */
  #withStore(delivery: Delivery): Delivery {
    const store = this.#store as QueueStore
    if (store.kind === 'memory') return delivery
    const stored = new StoredDelivery(delivery, store, this.#encoding, (event) => {
      if (this.#keepEvents) this.#events.set(event.id, eventFromStored(event, this.#encoding))
    })
    stored.recover()
    return stored
  }

  handle(event: HookEvent): void {
    const delivery = this.#delivery
    if (delivery === undefined) return
    try {
      if (!this.#matches(event)) return
      // A kept event is stamped on a copy, so that its report shows the body's times; else the body
      // defaults them itself (measured under aedes: the copy cost as much as formatting the body).
      const kept = this.#keepEvents ? stampTimes(event) : undefined
      const stamped = kept ?? event
      const key = orderingKey(event)
      // A message event goes to the delivery thread as its fields when it can (`message-record.ts`).
      if (delivery.enqueueMessage !== undefined && recordable(stamped, this.#encoding)) {
        delivery.enqueueMessage(this.#accept(event, kept), stamped, key)
        return
      }
      // Formatted before anything is counted: an event that cannot be is reported, not half taken.
      const body = serializeEvent(stamped, this.#encoding)
      const job: NamedJob = {
        id: this.#accept(event, kept),
        body,
        key,
        event: event.event,
        eventIndex: eventIndex(event.event),
      }
      if (typeof body !== 'string') job.bytesHint = encodedBytesHint(stamped)
      delivery.enqueue(job)
    } catch (error) {
      this.reportError(toError(error, 'handle() could not take an event'))
    }
  }

  /** Counts a matched event, names it, and keeps it for its report when someone listens; returns its id. */
  #accept(event: HookEvent, kept: HookEvent | undefined): number {
    this.#matched++
    const counts = this.#perEvent[event.event]
    if (counts !== undefined) counts.matched++
    const id = this.#idCounter++
    if (kept !== undefined) this.#events.set(id, kept)
    return id
  }

  wants(name: HookEventName): boolean {
    return this.#wanted.has(name)
  }

  stats(): WebhookStats {
    const perEvent: WebhookStats['events'] = {}
    for (const [name, counts] of Object.entries(this.#perEvent))
      perEvent[name as HookEventName] = { matched: counts.matched }
    const delivery = this.#delivery?.stats()
    return {
      matched: this.#matched,
      queued: delivery?.queued ?? 0,
      queued_bytes: delivery?.queued_bytes ?? 0,
      inflight: delivery?.inflight ?? 0,
      inflight_bytes: delivery?.inflight_bytes ?? 0,
      success: delivery?.success ?? 0,
      failed: delivery?.failed ?? 0,
      retried: delivery?.retried ?? 0,
      dropped: delivery?.dropped ?? 0,
      dropped_by_reason: delivery?.dropped_by_reason ?? { queue_full: 0, queue_bytes_full: 0, closed: 0 },
      ...(delivery === undefined
        ? {}
        : {
            failed_by_reason: delivery.failed_by_reason,
            request_duration_seconds: delivery.request_duration_seconds,
            ...outcomesByEvent(delivery, Object.keys(this.#perEvent) as HookEventName[]),
          }),
      paused: delivery?.paused ?? false,
      paused_until: delivery?.paused_until ?? null,
      events: perEvent,
      errors: this.#errors,
      ...(this.#store === undefined ? {} : { store: this.#store.stats() }),
    }
  }

  /**
   * Sends the dead letters that match `filter` again (same body, same `webhook-id`), and returns how many.
   * Only a durable store keeps dead letters: with `store: 'memory'` there are none.
   */
  replay(filter?: DeadLetterFilter): number {
    const delivery = this.#delivery
    return delivery instanceof StoredDelivery ? delivery.replay(filter) : 0
  }

  flush(): Promise<void> {
    return this.#delivery?.flush() ?? Promise.resolve()
  }

  /**
   * Stops accepting events (later matching ones are reported dropped, `closed`), lets the queue drain for
   * up to `timeout_ms` (default {@link DEFAULT_CLOSE_TIMEOUT_MS}; `Infinity` waits for the drain), then
   * aborts what is in flight, reports everything left as dropped (`closed`) and closes every socket.
   * Resolves within `timeout_ms` and a short grace whatever the delivery thread's state. Rejects with a
   * `WebhookConfigError` when `timeout_ms` is not a non-negative number. Idempotent.
   */
  async close(options: { timeout_ms?: number } = {}): Promise<void> {
    const timeout = options?.timeout_ms ?? DEFAULT_CLOSE_TIMEOUT_MS
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0)
      throw new WebhookConfigError(
        'timeout_ms',
        `must be a non-negative number of ms, or Infinity to wait for the drain, got ${typeof timeout === 'number' ? timeout : typeof timeout}`,
      )
    if (this.#delivery === undefined) return
    await this.#delivery.close(timeout)
    this.#sender?.destroy()
  }

  /**
   * Emitted as `'error'` only when someone listens: an unheard `'error'` would throw into the broker.
   * Else logged at warn level through `options.logger`; with neither, the first one becomes a process
   * warning (once, so that bad input cannot flood stderr) and all are counted in `stats().errors`.
   */
  reportError(error: Error): void {
    this.#errors++
    try {
      const message = redact(error.message, this.#sensitive)
      if (message !== error.message) {
        // Redacted in place, so that a listener still gets the error's class and code; the stack repeats the message.
        if (error.stack !== undefined) error.stack = redact(error.stack, this.#sensitive)
        error.message = message
      }
      if (this.listenerCount('error') > 0) this.emit('error', error)
      else if (this.#logger !== undefined) this.#logger.warn({ err: { message } }, 'mqtt-webhook: error')
      else if (this.#errors === 1)
        process.emitWarning(
          `${message.startsWith('mqtt-webhook: ') ? '' : 'mqtt-webhook: '}${message} (later errors are only counted in stats().errors; listen to 'error' to see them)`,
          { code: 'MQTT_WEBHOOK_ERROR' },
        )
    } catch {
      // A listener or logger that throws must not throw into the caller either.
    }
  }

  #reporters(): DispatcherCallbacks {
    return {
      delivered: (id, attempts, status) => {
        const event = this.#takeEvent(id)
        if (event !== undefined && this.listenerCount('delivered') > 0)
          this.#emitReport('delivered', { event, id: this.#webhookId(id), attempts, status })
      },
      failed: (id, attempts, outcome) => {
        const event = this.#takeEvent(id)
        const report = this.#failedReport(id, attempts, outcome)
        this.#logger?.debug(
          { id: report.id, attempts, status: report.status, code: report.code },
          report.message,
        )
        if (event !== undefined) this.#emitReport('failed', { event, ...report })
      },
      dropped: (id, attempts, reason: DropReason) => {
        const event = this.#takeEvent(id)
        if (event !== undefined && this.listenerCount('dropped') > 0)
          this.#emitReport('dropped', { event, id: this.#webhookId(id), attempts, reason })
      },
    }
  }

  /** A report for an event handled while nobody listened has no event to carry, and is not emitted. */
  #trackReportListeners(): void {
    this.on('newListener', (name: string | symbol) => {
      if (REPORTS.has(name)) this.#keepEvents = true
    })
    this.on('removeListener', () => {
      this.#keepEvents =
        this.#sender !== undefined || [...REPORTS].some((name) => this.listenerCount(name) > 0)
    })
  }

  #takeEvent(id: number): HookEvent | undefined {
    const event = this.#events.get(id)
    if (event !== undefined) this.#events.delete(id)
    return event
  }

  /** The delivery thread died: whatever it held is reported failed (its count is the thread's to keep). */
  #lost(error: Error): void {
    this.reportError(error)
    const outcome: AttemptOutcome = { kind: 'fail', code: 'ERR_DELIVERY_THREAD', message: error.message }
    for (const [id, event] of this.#events)
      this.#emitReport('failed', { event, ...this.#failedReport(id, 0, outcome) })
    this.#events.clear()
  }

  /** close() gave up waiting for the delivery thread: every event not reported yet is reported dropped. */
  #abandoned(): void {
    for (const [id, event] of this.#events)
      this.#emitReport('dropped', { event, id: this.#webhookId(id), attempts: 0, reason: 'closed' })
    this.#events.clear()
  }

  #failedReport(id: number, attempts: number, outcome: AttemptOutcome): Omit<FailedReport, 'event'> {
    const plural = attempts === 1 ? 'attempt' : 'attempts'
    const report: Omit<FailedReport, 'event'> = {
      id: this.#webhookId(id),
      attempts,
      message: `POST ${this.#url} failed after ${attempts} ${plural}: ${outcome.message ?? outcome.code ?? 'unknown error'}`,
    }
    if (outcome.status !== undefined) report.status = outcome.status
    if (outcome.code !== undefined) report.code = outcome.code
    return report
  }

  /** Standard Webhooks' `msg_` shape: a random prefix per webhook, then a counter (unique, and cheap). */
  #webhookId(id: number): string {
    return this.#idPrefix + id.toString(36)
  }

  #emitReport<K extends 'delivered' | 'failed' | 'dropped'>(name: K, report: WebhookEvents[K][0]): void {
    try {
      this.emit(name, report)
    } catch (error) {
      this.reportError(toError(error, `a '${name}' listener threw`))
    }
  }

  #warnUnverified(): void {
    const message = `mqtt-webhook: tls.verify_peer is false: the certificate of ${this.#url} is not verified`
    if (this.#logger !== undefined) this.#logger.warn({ url: this.#url }, message)
    else process.emitWarning(message, { code: 'MQTT_WEBHOOK_TLS_UNVERIFIED' })
  }
}

/** The delivery's outcomes by event name, with zeros for the enabled events that have none yet. */
function outcomesByEvent(
  delivery: DispatcherStats,
  enabled: readonly HookEventName[],
): Pick<WebhookStats, 'delivered_by_event' | 'failed_by_event' | 'retried_by_event' | 'dropped_by_event'> {
  const { delivered_by_event, failed_by_event, retried_by_event, dropped_by_event } = delivery
  for (const name of enabled) {
    delivered_by_event[name] ??= 0
    retried_by_event[name] ??= 0
    failed_by_event[name] ??= zeroCounts(delivery.failed_by_reason)
    dropped_by_event[name] ??= zeroCounts(delivery.dropped_by_reason)
  }
  return { delivered_by_event, failed_by_event, retried_by_event, dropped_by_event }
}

/** The same keys as `counts`, each 0. */
function zeroCounts<K extends string>(counts: Record<K, number>): Record<K, number> {
  const zeros = { ...counts }
  for (const key in zeros) zeros[key] = 0
  return zeros
}

/**
 * `ts` and `connected_at` default to now. On a copy, since the caller's object may be frozen or reused;
 * the stamp goes first in the literal because a copy extended after the spread costs three times the
 * memory, and 100,000 of them may wait for their reports.
 */
function stampTimes(event: HookEvent): HookEvent {
  switch (event.event) {
    case 'on_message_publish':
    case 'on_message_delivered':
    case 'on_message_acked': {
      if (event.ts !== undefined) return event
      const now = Date.now()
      const stamped = { ts: now, ...event }
      // An own `ts: undefined` key was spread over the stamp.
      stamped.ts ??= now
      return stamped
    }
    case 'on_client_connected': {
      if (event.connected_at !== undefined) return event
      const now = Date.now()
      const stamped = { connected_at: now, ...event }
      stamped.connected_at ??= now
      return stamped
    }
    default:
      return event
  }
}

/** The room a body still being encoded may take: base62 makes about 1.37 characters of a byte, plus the other fields. */
function encodedBytesHint(event: HookEvent): number {
  const payload = (event as { payload?: Uint8Array }).payload
  return Math.ceil((payload?.length ?? 0) * 1.4) + 1024
}

/** One client's events share a key (the publisher's for `on_message_publish`); client-less events share `''`. */
function orderingKey(event: HookEvent): string {
  const client = event.event === 'on_message_publish' ? event.from_client_id : event.clientid
  return typeof client === 'string' ? client : ''
}

function toError(error: unknown, context: string): Error {
  if (error instanceof Error) return error
  return new Error(`${context}: ${String(error)}`)
}
