import type { ResolvedConfig } from './config-types.ts'
import { type HookEvent, type HookEventName, MESSAGE_EVENT_NAMES, TOPIC_EVENT_NAMES } from './events.ts'
import { hasWildcard, isSysTopic, matchLevels } from './topic.ts'

/** How one enabled event decides on a topic, compiled once so that matching does no parsing. */
interface TopicRule {
  /** True when some rule has no topic: every topic fires. */
  everyTopic: boolean
  /** Filters without wildcards: a set lookup. */
  exact: ReadonlySet<string>
  /** Filters with wildcards, split into levels. */
  wildcards: ReadonlyArray<readonly string[]>
}

/**
 * Whether `event` fires under `rules` (topic filters, the `$SYS` rule); at most once however many match.
 * For subscribe/unsubscribe events the topic is the client's filter string, matched as if it were a topic
 * name (a `+` in it is a literal level), as EMQX does. Never throws, whatever `event` holds.
 */
export function createMatcher(rules: ResolvedConfig['rules']): (event: HookEvent) => boolean {
  const compiled = new Map<HookEventName, TopicRule | true>()
  for (const [name, filters] of rules) {
    compiled.set(name, TOPIC_EVENT_NAMES.has(name) ? compileTopicRule(filters) : true)
  }
  return (event) => {
    const rule = compiled.get(event?.event)
    if (rule === undefined) return false
    if (rule === true) return true
    const topic = (event as { topic?: unknown }).topic
    if (typeof topic !== 'string') return false
    if (MESSAGE_EVENT_NAMES.has(event.event) && isSysTopic(topic)) return false
    return matchesTopicRule(rule, topic)
  }
}

function compileTopicRule(filters: readonly string[]): TopicRule {
  return {
    everyTopic: filters.length === 0,
    exact: new Set(filters.filter((filter) => !hasWildcard(filter))),
    wildcards: filters.filter(hasWildcard).map((filter) => filter.split('/')),
  }
}

function matchesTopicRule(rule: TopicRule, topic: string): boolean {
  if (rule.everyTopic || rule.exact.has(topic)) return true
  if (rule.wildcards.length === 0) return false
  const topicLevels = topic.split('/')
  for (const filterLevels of rule.wildcards) {
    if (matchLevels(filterLevels, topicLevels)) return true
  }
  return false
}
