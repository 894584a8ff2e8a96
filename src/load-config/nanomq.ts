import { WebhookConfigError } from '../errors.ts'
import { ConfigFileError } from './errors.ts'
import { type HoconObject, type HoconValue, isHoconObject, type Location, locationOf } from './hocon.ts'
import { type LocatedConfig, recordLocations } from './located.ts'

/**
 * The `webhook` section of a HOCON (or JSON) file, in every shape NanoMQ has shipped or documented:
 *
 * - 0.19 to today: `webhook { url, headers.*, body.encoding, pool_size, cancel_timeout, ssl|tls { }, events = [ { event, topic } ] }`.
 * - 0.13.6 to 0.18: the same block (with `enable`, off unless set) plus rules as dotted keys holding arrays:
 *   `webhook.rule.message.publish = [{action: on_message_publish, topic: "a/#"}]`, inside or outside the
 *   block; the key names the event (as NanoMQ's parser does), a single object or numbered objects are taken too.
 *
 * NanoMQ's TLS block keys (`enable`, `keyfile`, `certfile`, `cacertfile`) map onto `tls`; `enable = false`
 * drops the block, as NanoMQ ignores it then.
 */
export function translateWebhookSection(
  section: HoconObject,
  sectionAt: Location,
  file: string,
): LocatedConfig {
  const where = new Map<string, Location>()
  recordLocations(where, '', section, locationOf)
  const config: Record<string, unknown> = { ...section }
  if (Object.hasOwn(section, 'rule')) translateRules(config, section, where, sectionAt, file)
  for (const block of ['tls', 'ssl'] as const) {
    const tls = config[block]
    if (!isHoconObject(tls as HoconValue) || !Object.hasOwn(tls as object, 'enable')) continue
    const { enable, ...rest } = tls as HoconObject
    if (enable === false) delete config[block]
    else if (enable === true) config[block] = rest
    // Anything else is left for validation, which names the key.
  }
  return { config, where, fallback: sectionAt }
}

/** Rules of NanoMQ 0.13.6-0.18: `rule.<client|session|message>.<name> = [ { action, topic } ... ]`. */
function translateRules(
  config: Record<string, unknown>,
  section: HoconObject,
  where: Map<string, Location>,
  sectionAt: Location,
  file: string,
): void {
  const ruleAt = where.get('rule') ?? sectionAt
  if (Object.hasOwn(section, 'events'))
    throw new ConfigFileError(
      file,
      ruleAt.line,
      ruleAt.column,
      ruleAt.key,
      'give the rules once: as events = [ ... ] (NanoMQ 0.19 and later) or as rule.* keys (0.13 to 0.18), not both',
    )
  delete config.rule
  const events: Array<Record<string, unknown>> = []
  const add = (group: string, name: string, rule: HoconValue, at: Location) => {
    if (!isHoconObject(rule))
      throw new ConfigFileError(
        file,
        at.line,
        at.column,
        at.key,
        `a rule must be an object like {action: on_${group}_${name}, topic: "a/#"}`,
      )
    const index = events.length
    const event = `on_${group}_${name}`
    const entry: Record<string, unknown> = { event }
    where.set(`events[${index}]`, at)
    where.set(`events[${index}].event`, at)
    for (const [key, value] of Object.entries(rule)) {
      const keyAt = locationOf(rule, key) ?? at
      if (key === 'action') {
        if (typeof value !== 'string' || value.toLowerCase() !== event)
          throw new ConfigFileError(
            file,
            keyAt.line,
            keyAt.column,
            keyAt.key,
            `the rule under ${at.key.replace(/\[\d+\]$/, '')} fires ${event}; its action must be ${event} or left out`,
          )
        where.set(`events[${index}].event`, keyAt)
      } else {
        entry[key] = value
        where.set(`events[${index}].${key}`, keyAt)
      }
    }
    events.push(entry)
  }
  const rules = section.rule
  if (!isHoconObject(rules))
    throw new ConfigFileError(file, ruleAt.line, ruleAt.column, ruleAt.key, 'must be a block of rules')
  for (const [group, names] of Object.entries(rules)) {
    const groupAt = locationOf(rules, group) ?? ruleAt
    if (!isHoconObject(names))
      throw new ConfigFileError(
        file,
        groupAt.line,
        groupAt.column,
        groupAt.key,
        'expected rule.<client|session|message>.<event> = [ ... ]',
      )
    for (const [name, value] of Object.entries(names)) {
      const at = locationOf(names, name) ?? groupAt
      if (Array.isArray(value)) {
        for (const [index, rule] of value.entries()) add(group, name, rule, locationOf(value, index) ?? at)
      } else if (isHoconObject(value) && !Object.hasOwn(value, 'action') && !Object.hasOwn(value, 'topic')) {
        // `rule.message.publish.1 = {...}`: numbered rules, as the flat format writes them.
        for (const [number, rule] of Object.entries(value))
          add(group, name, rule, locationOf(value, number) ?? at)
      } else {
        add(group, name, value, at)
      }
    }
  }
  config.events = events
  // NanoMQ 0.14 to 0.18 fire nothing unless `webhook.enable = true` (their docs say so).
  if (!Object.hasOwn(section, 'enable')) {
    config.enable = false
    where.set('enable', ruleAt)
  }
}

/** The webhook settings of a parsed file: its `webhook` block, or the object itself (a JSON config). */
export function webhookSection(root: HoconValue, file: string): { section: HoconObject; at: Location } {
  const start: Location = { line: 1, column: 1, key: '' }
  if (!isHoconObject(root)) throw new WebhookConfigError(file, 'expected an object with the webhook settings')
  if (Object.hasOwn(root, 'webhook')) {
    const webhook = root.webhook
    const at = locationOf(root, 'webhook') ?? { ...start, key: 'webhook' }
    if (!isHoconObject(webhook))
      throw new ConfigFileError(file, at.line, at.column, at.key, 'must be a block: webhook { ... }')
    return { section: webhook, at }
  }
  if (!Object.hasOwn(root, 'url') && !Object.hasOwn(root, 'events'))
    throw new WebhookConfigError(
      file,
      'no webhook settings found: expected a webhook { ... } block, web.hook.* lines, or a JSON object',
    )
  return { section: root, at: start }
}
