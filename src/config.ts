import type { EventRule, PayloadEncoding, ResolvedConfig, WebhookConfig } from './config-types.ts'
import { closestName } from './did-you-mean.ts'
import { WebhookConfigError } from './errors.ts'
import { HOOK_EVENT_NAMES, type HookEventName, TOPIC_EVENT_NAMES } from './events.ts'
import { isQuotable, quoteGiven, redact, sensitiveStringsOf } from './security/redact.ts'
import { resolveSecrets } from './security/signing.ts'
import { resolveTls } from './security/tls.ts'
import { validateTopicFilter } from './topic.ts'

const TOP_LEVEL_KEYS = [
  'url',
  'headers',
  'body',
  'body.encoding',
  'pool_size',
  'cancel_timeout',
  'events',
  'tls',
  'ssl',
  'retry',
  'max_queue',
  'max_queue_bytes',
  'ordering',
  'queue',
  'secret',
  'enable',
  'batch',
  'pipelining',
] as const
const BODY_KEYS = ['encoding'] as const
const RULE_KEYS = ['event', 'topic'] as const
const RETRY_KEYS = ['max_attempts', 'base_delay', 'max_delay'] as const
const BATCH_KEYS = ['max_events', 'max_delay_ms'] as const
const TLS_KEYS = ['keyfile', 'certfile', 'cacertfile', 'verify_peer', 'server_name_indication'] as const
const TLS_STRING_KEYS = ['keyfile', 'certfile', 'cacertfile'] as const
const ENCODINGS: readonly PayloadEncoding[] = ['plain', 'base64', 'base62']
const ORDERINGS = ['none', 'per-client'] as const

/** Node's timers fire at once (with a warning) past this many ms, so no delay may exceed it. */
const MAX_TIMER_MS = 2_147_483_647
/** The queue's limits are kept in 32-bit counters shared by two threads. */
const MAX_INT32 = 2_147_483_647
/** RFC 9110 token: what an HTTP header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/**
 * RFC 9110 §5.5 field value: visible ASCII, spaces, tabs and obs-text (bytes 0x80–0xFF, as Latin-1).
 * undici refuses anything else (a control character, a `☃`) at request time, every request failing:
 * refuse it up front instead.
 */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const BAD_HEADER_VALUE = 'must hold only visible ASCII, spaces, tabs and Latin-1 characters'
/**
 * Headers the transport writes for each request, which undici refuses or which contradict the body or
 * the pool: given in the config, every request would fail (`content-length`, `transfer-encoding`) or be
 * refused (`upgrade`, `expect`, `keep-alive`, `connection`).
 */
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'expect',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
])

const DEFAULTS = {
  headers: { 'content-type': 'application/json' },
  encoding: 'plain',
  poolSize: 32,
  cancelTimeout: 5000,
  maxQueue: 100_000,
  // About 100,000 message events of 100-byte payloads: max_queue binds for small events, this for big ones.
  // With it, RSS stays under 300 MB with the endpoint down (measured in docs/delivery.md).
  maxQueueBytes: 24 * 2 ** 20,
  retry: { maxAttempts: 3, baseDelay: 100, maxDelay: 30_000 },
  ordering: 'none',
  pipelining: 1,
  batch: { maxEvents: 100, maxDelayMs: 10 },
} as const

/**
 * Validates `config` and fills in defaults; throws `WebhookConfigError` naming the key and the reason.
 * The error never shows the config's secrets, header values or url credentials and query values, wherever
 * they were put (a secret pasted as the encoding is hidden like the secret itself).
 */
export function resolveConfig(config: WebhookConfig): ResolvedConfig {
  sensitive = sensitiveStringsOf(config)
  try {
    return resolveChecked(config)
  } catch (error) {
    if (!(error instanceof WebhookConfigError)) throw error
    // The last net, for messages built elsewhere (tls paths, topics): the config's secrets are hidden
    // wherever they are in the reason. Not in the key, made of key names (a password `secret` would hide
    // the key `secret`), whose user-given parts are checked where they are named (`isQuotable`).
    const reason = redact(error.reason, sensitive)
    // A new error when something was hidden: the first one's message and stack hold it.
    throw reason === error.reason ? error : new WebhookConfigError(error.key, reason)
  } finally {
    sensitive = []
  }
}

/**
 * The config's secrets, passwords and header values while `resolveConfig` runs (it is synchronous): no
 * error quotes one back, wherever it was put.
 */
let sensitive: readonly string[] = []

/** A user's value for an error message: quoted when it cannot be a credential, else described. */
function given(text: string): string {
  return quoteGiven(text, sensitive)
}

function resolveChecked(config: WebhookConfig): ResolvedConfig {
  const root = requireObject(config, 'config')
  rejectUnknownKeys(root, TOP_LEVEL_KEYS, '', (key) => key.startsWith('headers.'))
  const enable = optionalBoolean(root.enable, 'enable') ?? true
  if (root.tls !== undefined && root.ssl !== undefined) {
    throw new WebhookConfigError('ssl', "'ssl' is an alias of 'tls': give one of them, not both")
  }
  const tlsKey = root.ssl !== undefined ? 'ssl' : 'tls'
  const tls = root[tlsKey] === undefined ? undefined : checkTls(root[tlsKey], tlsKey)
  const resolved: ResolvedConfig = {
    url: resolveUrl(root.url, enable),
    headers: resolveHeaders(root),
    encoding: resolveEncoding(root),
    poolSize: positiveInteger(root.pool_size, 'pool_size') ?? DEFAULTS.poolSize,
    cancelTimeout:
      positiveInteger(root.cancel_timeout, 'cancel_timeout', MAX_TIMER_MS) ?? DEFAULTS.cancelTimeout,
    rules: resolveRules(root.events, enable),
    retry: resolveRetry(root.retry),
    // Both are counted in 32-bit shared counters (src/delivery/budget.ts).
    maxQueue: positiveInteger(root.max_queue, 'max_queue', MAX_INT32) ?? DEFAULTS.maxQueue,
    maxQueueBytes:
      positiveInteger(root.max_queue_bytes, 'max_queue_bytes', MAX_INT32) ?? DEFAULTS.maxQueueBytes,
    ordering: oneOf(root.ordering, 'ordering', ORDERINGS) ?? DEFAULTS.ordering,
    queue: resolveQueue(root.queue),
    secrets: root.secret === undefined ? [] : resolveSecrets(root.secret as string | string[]),
    enable,
    pipelining: positiveInteger(root.pipelining, 'pipelining') ?? DEFAULTS.pipelining,
  }
  if (root.batch !== undefined) resolved.batch = resolveBatch(root.batch)
  // A disabled webhook never connects, so its certificate files need not exist on this host.
  if (tls !== undefined && enable) resolved.tls = resolveTls(tls, tlsKey)
  return resolved
}

function resolveUrl(url: unknown, enable: boolean): string {
  if (url === undefined && !enable) return ''
  if (url === undefined) throw new WebhookConfigError('url', 'is required')
  if (typeof url !== 'string') throw new WebhookConfigError('url', `must be a string, got ${typeOf(url)}`)
  // The url may hold credentials: errors name what is wrong with it, never the url itself.
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new WebhookConfigError('url', 'is not a valid absolute URL')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebhookConfigError('url', `must use http: or https:, not ${parsed.protocol}`)
  }
  return url
}

function resolveHeaders(root: Record<string, unknown>): Record<string, string> {
  // A Map, so that a header named like an Object.prototype key (`__proto__`) is kept as a header.
  const headers = new Map<string, string>(Object.entries(DEFAULTS.headers))
  const set = (name: string, value: unknown, key: string) => {
    // A header's name is quoted back only when it cannot be a credential (`Bearer abc` given as a name).
    if (!isQuotable(name, sensitive)) {
      const hidden = `a header name of ${name.length} characters, not shown as it may be a credential,`
      if (!HEADER_NAME.test(name))
        throw new WebhookConfigError('headers', `${hidden} is not a valid HTTP header name`)
      key = 'headers'
      if (typeof value !== 'string')
        throw new WebhookConfigError(key, `${hidden} must have a string value, got ${typeOf(value)}`)
      if (!HEADER_VALUE.test(value)) throw new WebhookConfigError(key, `${hidden} ${BAD_HEADER_VALUE}`)
    }
    if (!HEADER_NAME.test(name)) throw new WebhookConfigError(key, 'is not a valid HTTP header name')
    if (TRANSPORT_HEADERS.has(name.toLowerCase()))
      throw new WebhookConfigError(
        key,
        'is written by the transport for each request; it cannot be configured',
      )
    if (typeof value !== 'string') throw new WebhookConfigError(key, `must be a string, got ${typeOf(value)}`)
    if (!HEADER_VALUE.test(value)) throw new WebhookConfigError(key, BAD_HEADER_VALUE)
    headers.set(name.toLowerCase(), value)
  }
  if (root.headers !== undefined) {
    for (const [name, value] of Object.entries(requireObject(root.headers, 'headers'))) {
      set(name, value, `headers.${name}`)
    }
  }
  for (const [key, value] of Object.entries(root)) {
    if (key.startsWith('headers.')) set(key.slice('headers.'.length), value, key)
  }
  return Object.fromEntries(headers)
}

function resolveEncoding(root: Record<string, unknown>): PayloadEncoding {
  let nested: unknown
  if (root.body !== undefined) {
    const body = requireObject(root.body, 'body')
    rejectUnknownKeys(body, BODY_KEYS, 'body.')
    nested = body.encoding
  }
  const dotted = root['body.encoding']
  if (nested !== undefined && dotted !== undefined && nested !== dotted) {
    throw new WebhookConfigError(
      'body.encoding',
      'is given twice (as body.encoding and in body) with different values',
    )
  }
  const encoding = dotted ?? nested
  if (encoding === undefined) return DEFAULTS.encoding
  if (typeof encoding !== 'string') {
    throw new WebhookConfigError('body.encoding', `must be a string, got ${typeOf(encoding)}`)
  }
  const lowered = encoding.toLowerCase() as PayloadEncoding
  if (ENCODINGS.includes(lowered)) return lowered
  throw new WebhookConfigError(
    'body.encoding',
    `unknown encoding ${given(encoding)} (expected plain, base64 or base62)`,
  )
}

function resolveRules(events: unknown, enable: boolean): ResolvedConfig['rules'] {
  const rules: ResolvedConfig['rules'] = new Map()
  if (events === undefined && !enable) return rules
  if (events === undefined)
    throw new WebhookConfigError('events', 'is required (a non-empty array of { event, topic? })')
  if (!Array.isArray(events))
    throw new WebhookConfigError('events', `must be an array, got ${typeOf(events)}`)
  if (events.length === 0 && enable) throw new WebhookConfigError('events', 'must list at least one event')
  // Events that have a rule without a topic fire for every topic, whatever filters other rules add.
  const everyTopic = new Set<HookEventName>()
  events.forEach((entry: unknown, index) => {
    const { event, topic } = checkRule(entry, `events[${index}]`)
    const filters = rules.get(event) ?? []
    rules.set(event, filters)
    if (topic === undefined) everyTopic.add(event)
    else if (!filters.includes(topic)) filters.push(topic)
  })
  for (const event of everyTopic) rules.set(event, [])
  return rules
}

function checkRule(entry: unknown, key: string): EventRule {
  const rule = requireObject(entry, key)
  rejectUnknownKeys(rule, RULE_KEYS, `${key}.`)
  const { event, topic } = rule
  if (event === undefined) throw new WebhookConfigError(`${key}.event`, 'is required')
  if (typeof event !== 'string') {
    throw new WebhookConfigError(`${key}.event`, `must be a string, got ${typeOf(event)}`)
  }
  if (!(HOOK_EVENT_NAMES as readonly string[]).includes(event)) {
    throw new WebhookConfigError(
      `${key}.event`,
      `unknown event ${given(event)}${suggest(event, HOOK_EVENT_NAMES)}`,
    )
  }
  const name = event as HookEventName
  if (topic === undefined) return { event: name }
  if (!TOPIC_EVENT_NAMES.has(name)) {
    throw new WebhookConfigError(`${key}.topic`, `${name} has no topic, so its rule cannot filter on one`)
  }
  const problem = validateTopicFilter(topic)
  if (problem !== undefined)
    throw new WebhookConfigError(`${key}.topic`, `invalid topic filter: ${unquoteTopic(problem, topic)}`)
  return { event: name, topic: topic as string }
}

function resolveRetry(retry: unknown): ResolvedConfig['retry'] {
  if (retry === undefined) return { ...DEFAULTS.retry }
  const given = requireObject(retry, 'retry')
  rejectUnknownKeys(given, RETRY_KEYS, 'retry.')
  return {
    maxAttempts: positiveInteger(given.max_attempts, 'retry.max_attempts') ?? DEFAULTS.retry.maxAttempts,
    baseDelay:
      positiveInteger(given.base_delay, 'retry.base_delay', MAX_TIMER_MS) ?? DEFAULTS.retry.baseDelay,
    maxDelay: positiveInteger(given.max_delay, 'retry.max_delay', MAX_TIMER_MS) ?? DEFAULTS.retry.maxDelay,
  }
}

const QUEUE_KEYS = ['store', 'path', 'commit', 'synchronous', 'max_dead_letters'] as const

function resolveQueue(queue: unknown): ResolvedConfig['queue'] {
  if (queue === undefined) return { store: 'memory' }
  const given = requireObject(queue, 'queue')
  rejectUnknownKeys(given, QUEUE_KEYS, 'queue.')
  const store = oneOf(given.store, 'queue.store', ['memory', 'sqlite'] as const)
  if (store === undefined) throw new WebhookConfigError('queue.store', "is required ('memory' or 'sqlite')")
  if (store === 'memory') {
    const extra = Object.keys(given).find((key) => key !== 'store')
    if (extra !== undefined) throw new WebhookConfigError(`queue.${extra}`, "applies only to store 'sqlite'")
    return { store }
  }
  const path = given.path
  if (typeof path !== 'string' || path === '')
    throw new WebhookConfigError('queue.path', "is required with store 'sqlite' (the database file)")
  return {
    store,
    path,
    commit: oneOf(given.commit, 'queue.commit', ['batch', 'event'] as const) ?? 'batch',
    synchronous: oneOf(given.synchronous, 'queue.synchronous', ['normal', 'full'] as const) ?? 'normal',
    maxDeadLetters: positiveInteger(given.max_dead_letters, 'queue.max_dead_letters') ?? 10_000,
  }
}

function resolveBatch(batch: unknown): NonNullable<ResolvedConfig['batch']> {
  const given = requireObject(batch, 'batch')
  rejectUnknownKeys(given, BATCH_KEYS, 'batch.')
  return {
    maxEvents: positiveInteger(given.max_events, 'batch.max_events') ?? DEFAULTS.batch.maxEvents,
    maxDelayMs:
      positiveInteger(given.max_delay_ms, 'batch.max_delay_ms', MAX_TIMER_MS) ?? DEFAULTS.batch.maxDelayMs,
  }
}

/** Checks the shape of a `tls` block; reading and checking its files is `resolveTls`'s job. */
function checkTls(tls: unknown, key: 'tls' | 'ssl'): NonNullable<WebhookConfig['tls']> {
  const given = requireObject(tls, key)
  rejectUnknownKeys(given, TLS_KEYS, `${key}.`)
  for (const name of TLS_STRING_KEYS) {
    const value = given[name]
    if (value !== undefined && typeof value !== 'string') {
      throw new WebhookConfigError(`${key}.${name}`, `must be a string, got ${typeOf(value)}`)
    }
  }
  optionalBoolean(given.verify_peer, `${key}.verify_peer`)
  return given as NonNullable<WebhookConfig['tls']>
}

function requireObject(value: unknown, key: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookConfigError(key, `must be an object, got ${typeOf(value)}`)
  }
  return value as Record<string, unknown>
}

function rejectUnknownKeys(
  object: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  alsoAllowed: (key: string) => boolean = () => false,
): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key) || alsoAllowed(key)) continue
    if (!isQuotable(key, sensitive))
      throw new WebhookConfigError(
        prefix === '' ? 'config' : prefix.slice(0, -1),
        `has an unknown key of ${key.length} characters, not shown as it may be a credential`,
      )
    throw new WebhookConfigError(`${prefix}${key}`, `unknown key${suggest(key, known, prefix)}`)
  }
}

function positiveInteger(value: unknown, key: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new WebhookConfigError(key, `must be a positive integer, got ${describeValue(value)}`)
  }
  if (value > max) throw new WebhookConfigError(key, `must be at most ${max}, got ${value}`)
  return value
}

function optionalBoolean(value: unknown, key: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new WebhookConfigError(key, `must be true or false, got ${describeValue(value)}`)
}

function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T | undefined {
  if (value === undefined || allowed.includes(value as T)) return value as T | undefined
  const expected = allowed.map(quote).join(' or ')
  throw new WebhookConfigError(key, `must be ${expected}, got ${describeValue(value)}`)
}

/**
 * `problem` without the filter it quotes when a level of the filter may be a credential: a topic is
 * quoted level by level under the rule for any value (`isQuotable`), wildcards and `$` aside.
 */
function unquoteTopic(problem: string, topic: unknown): string {
  if (typeof topic !== 'string') return problem
  const levels = topic.split('/').map((level) => level.replace(/^\$/, '').replace(/[+#]/g, ''))
  if (levels.every((level) => isQuotable(level, sensitive))) return problem
  return problem.split(`'${topic}'`).join(`a filter of ${topic.length} characters`)
}

function suggest(name: string, candidates: readonly string[], prefix = ''): string {
  const closest = closestName(name, candidates)
  return closest === undefined ? '' : `, did you mean ${quote(prefix + closest)}?`
}

function quote(value: string): string {
  return `'${value}'`
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

/** A short description of a bad value; a string is quoted only when it cannot be a credential (`isQuotable`). */
function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return given(value)
  return typeOf(value)
}
