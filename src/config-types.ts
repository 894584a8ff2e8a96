import type { HookEventName } from './events.ts'

/**
 * How the `payload` field of message events is written: `plain` (UTF-8 text), `base64` (RFC 4648, padded)
 * or `base62` (NanoMQ's alphabet, as `base-x` encodes it).
 */
export type PayloadEncoding = 'plain' | 'base64' | 'base62'

/** One entry of `events`: which event fires, optionally only for topics matching `topic`. */
export interface EventRule {
  /** The event's config name, e.g. `'on_message_publish'`. */
  event: HookEventName
  /**
   * An MQTT topic filter (`+` one level, `#` the rest). Only on events that carry a topic.
   * @default every topic
   */
  topic?: string | undefined
}

/** The `body` key: how the body is written. */
export interface BodyConfig {
  /**
   * Encoding of the `payload` field (case-insensitive).
   * @default 'plain'
   */
  encoding?: PayloadEncoding | Uppercase<PayloadEncoding> | undefined
}

/** TLS settings for `https:` endpoints; files are PEM. */
export interface TlsConfig {
  /** Private key of the client certificate (mutual TLS). */
  keyfile?: string | undefined
  /** Client certificate presented to the endpoint (mutual TLS). */
  certfile?: string | undefined
  /** A CA to trust in addition to Node's bundled ones. */
  cacertfile?: string | undefined
  /**
   * Verify the endpoint's certificate. `false` is allowed but warns once at creation.
   * @default true
   */
  verify_peer?: boolean | undefined
  /**
   * SNI, as NanoMQ and EMQX 4 spell it: a host name is sent in the handshake and checked against the
   * certificate; `true` sends the url's host (when it is a name, not an IP address); `false` sends none
   * (EMQX's `disable`). The certificate is always checked against the name given, or the url's host.
   * @default true
   */
  server_name_indication?: string | boolean | undefined
}

/** How failed attempts are retried: exponential backoff with full jitter, honouring `Retry-After`. */
export interface RetryConfig {
  /**
   * Attempts per event, the first included.
   * @default 3
   */
  max_attempts?: number | undefined
  /**
   * Upper bound of the first backoff, in ms; it doubles with each retry (full jitter).
   * @default 100
   */
  base_delay?: number | undefined
  /**
   * Upper bound of any backoff, in ms.
   * @default 30000
   */
  max_delay?: number | undefined
}

/** `batch`: a request goes when it holds `max_events` events or its oldest has waited `max_delay_ms`. */
export interface BatchConfig {
  /**
   * Most events in one request.
   * @default 100
   */
  max_events?: number
  /**
   * Longest an event waits for others to fill its batch, in ms.
   * @default 10
   */
  max_delay_ms?: number
}

/**
 * The configuration `createWebhook` takes: NanoMQ's `webhook { ... }` keys. `{ enable: false }` alone is
 * valid (a webhook that sends nothing); otherwise `url` and `events` are required.
 */
export type WebhookConfig = EnabledWebhookConfig | DisabledWebhookConfig

/** A webhook that posts: `url` and `events` are required. */
export interface EnabledWebhookConfig {
  /** The endpoint, `http:` or `https:`; path and query are kept. */
  url: string
  /**
   * Headers sent with every request.
   * @default { 'content-type': 'application/json' }
   */
  headers?: Record<string, string> | undefined
  /** How the body is written. */
  body?: BodyConfig | undefined
  /**
   * Most requests in flight at once, and most keep-alive sockets.
   * @default 32
   */
  pool_size?: number | undefined
  /**
   * One attempt's deadline in ms; past it the request is cancelled (and retried).
   * @default 5000
   */
  cancel_timeout?: number | undefined
  /** Which events fire. At least one. */
  events: EventRule[]
  /** TLS for `https:` endpoints. `ssl` is accepted as an alias, as NanoMQ's parser does. */
  tls?: TlsConfig | undefined
  /** NanoMQ's name for `tls`; give one or the other. */
  ssl?: TlsConfig | undefined
  /** Retries after a network error, a timeout, 408, 429 or 5xx. */
  retry?: RetryConfig | undefined
  /**
   * Most events waiting to be sent; past it the oldest waiting event is dropped and reported.
   * @default 100000
   */
  max_queue?: number | undefined
  /**
   * Most bytes of events waiting to be sent (their bodies, or for message events their fields and payload),
   * at most 2147483647; past it the oldest waiting events are dropped and reported (`queue_bytes_full`).
   * @default 25165824 (24 MiB)
   */
  max_queue_bytes?: number
  /**
   * `'per-client'` delivers one client's events one at a time, in the order they happened.
   * @default 'none'
   */
  ordering?: 'none' | 'per-client' | undefined
  /**
   * Where waiting events live: in memory, or in a SQLite file that survives a crash (at-least-once).
   * @default { store: 'memory' }
   */
  queue?: QueueConfig | undefined
  /** Standard Webhooks signing secret(s), `whsec_...`; several give several signatures (rotation). */
  secret?: string | string[] | undefined
  /**
   * `false` builds a webhook that sends nothing.
   * @default true
   */
  enable?: boolean | undefined
  /**
   * Opt-in: one request carries a JSON array of up to `max_events` bodies, in order (NanoMQ sends one
   * event per request, and so do we without it).
   * @default off
   */
  batch?: BatchConfig | undefined
  /**
   * HTTP/1.1 requests in flight on one connection (more than 1 lets undici pipeline POSTs, which it then
   * treats as safe to resend: receivers de-duplicate on `webhook-id`).
   * @default 1
   */
  pipelining?: number | undefined
  /** NanoMQ's dotted spellings of `headers.<name>` and `body.encoding`. */
  [dotted: `headers.${string}`]: string
  /** NanoMQ's dotted spelling of `body.encoding`. */
  'body.encoding'?: PayloadEncoding | Uppercase<PayloadEncoding> | undefined
}

/** A webhook that sends nothing: every other key may be left out (and is still checked when given). */
export interface DisabledWebhookConfig extends Partial<Omit<EnabledWebhookConfig, 'enable'>> {
  /** `false`: nothing is sent. */
  enable: false
}

/** `queue`: `{ store: 'memory' }`, or `{ store: 'sqlite', path, ... }` (needs the optional package better-sqlite3). */
export type QueueConfig =
  | {
      /** Waiting events in memory only: a crash loses them. */
      store: 'memory'
    }
  | SqliteQueueConfig

/** `queue: { store: 'sqlite', path }`: waiting events also kept in a SQLite file, delivered after a crash too. */
export interface SqliteQueueConfig {
  /** An embedded SQLite database (the optional package better-sqlite3). */
  store: 'sqlite'
  /** The database file, made if missing (its directory must exist); `-wal` and `-shm` files sit beside it. */
  path: string
  /**
   * `'batch'`: the events of one turn of the event loop are written in one transaction after it (a crash in
   * that turn loses them); `'event'`: each event is written inside `handle()`, before it returns (no window,
   * several times the broker's cost per event).
   * @default 'batch'
   */
  commit?: 'batch' | 'event' | undefined
  /**
   * SQLite's `synchronous`: `'normal'` survives a crash of the process, `'full'` also a power loss (one
   * fsync per transaction).
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full' | undefined
  /**
   * Most dead letters kept (events that failed for good); past it the oldest are dropped.
   * @default 10000
   */
  max_dead_letters?: number | undefined
}

/** `queue`, validated and defaulted. */
export type ResolvedQueue =
  | { store: 'memory' }
  | {
      store: 'sqlite'
      path: string
      commit: 'batch' | 'event'
      synchronous: 'normal' | 'full'
      maxDeadLetters: number
    }

/** Validated, defaulted configuration: what the core works from. */
export interface ResolvedConfig {
  url: string
  headers: Record<string, string>
  encoding: PayloadEncoding
  poolSize: number
  cancelTimeout: number
  /** For each enabled event, its topic filters; an empty list means every topic. */
  rules: Map<HookEventName, string[]>
  /** Options for Node's `https.Agent`, with file contents already read. */
  tls?: {
    ca?: Buffer
    cert?: Buffer
    key?: Buffer
    rejectUnauthorized: boolean
    /** SNI: absent sends the url's host, `''` sends none; the certificate is checked against it, or the host. */
    servername?: string
  }
  retry: { maxAttempts: number; baseDelay: number; maxDelay: number }
  maxQueue: number
  maxQueueBytes: number
  ordering: 'none' | 'per-client'
  queue: ResolvedQueue
  /** Decoded signing keys (the bytes after `whsec_`), in the order given. */
  secrets: Buffer[]
  enable: boolean
  /** HTTP/1.1 requests in flight per connection. */
  pipelining: number
  /** Absent when batching is off. */
  batch?: { maxEvents: number; maxDelayMs: number }
}
