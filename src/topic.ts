/**
 * MQTT topic filters (MQTT 3.1.1 §4.7, MQTT 5 §4.7): `+` matches exactly one level, `#` the rest of the
 * topic including its parent level, and a filter that starts with a wildcard never matches a topic that
 * starts with `$` (those are the broker's own, like `$SYS/...`).
 */

/** The spec's limit on a topic's encoded length (a two-byte length prefix). */
const MAX_TOPIC_BYTES = 65_535

/** Why `filter` is not a valid MQTT topic filter, or `undefined` when it is. */
export function validateTopicFilter(filter: unknown): string | undefined {
  if (typeof filter !== 'string') return `must be a string, got ${describeType(filter)}`
  if (filter.length === 0) return 'must not be empty'
  if (filter.includes('\u0000')) return 'must not contain a NUL character'
  if (Buffer.byteLength(filter) > MAX_TOPIC_BYTES) return `must be at most ${MAX_TOPIC_BYTES} bytes`
  const levels = filter.split('/')
  for (let index = 0; index < levels.length; index++) {
    const level = levels[index] as string
    if (level === '#') {
      if (index !== levels.length - 1) return `'#' must be the last level (in '${filter}')`
    } else if (level.includes('#')) {
      return `'#' must occupy a whole level (in '${filter}')`
    } else if (level !== '+' && level.includes('+')) {
      return `'+' must occupy a whole level (in '${filter}')`
    }
  }
  return undefined
}

/** Whether `filter` has a wildcard level, so that matching needs more than string equality. */
export function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#')
}

/**
 * Whether `topic` matches the valid topic filter `filter`. `topic` is taken literally: a `+` or `#` in
 * it is an ordinary level (this is how a client's subscription filter is matched against a rule's).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!hasWildcard(filter)) return filter === topic
  return matchLevels(filter.split('/'), topic.split('/'))
}

/**
 * `topicMatches` on a filter and a topic already split into levels, for callers that match many filters
 * against one topic (or one filter against many topics) and split each only once.
 */
export function matchLevels(filterLevels: readonly string[], topicLevels: readonly string[]): boolean {
  const first = filterLevels[0]
  if ((first === '+' || first === '#') && topicLevels[0]?.startsWith('$')) return false
  const last = filterLevels.length - 1
  for (let index = 0; index <= last; index++) {
    const level = filterLevels[index]
    if (level === '#') return true
    if (index >= topicLevels.length) return false
    if (level !== '+' && level !== topicLevels[index]) return false
  }
  return topicLevels.length === filterLevels.length
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

/**
 * Whether `topic` is one of the broker's own (`$SYS` and below). Message events never fire for them, as
 * in EMQX (NanoMQ fires them, a bug: docs/events.md), so adapters do not even build them.
 */
export function isSysTopic(topic: string): boolean {
  return topic === '$SYS' || topic.startsWith('$SYS/')
}
