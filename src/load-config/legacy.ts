import type { EventRule } from '../config-types.ts'
import { ConfigFileError, ConfigSyntaxError } from './errors.ts'
import type { Location } from './hocon.ts'
import { parseHocon } from './hocon.ts'
import type { LocatedConfig } from './located.ts'

/**
 * The flat `web.hook.*` lines, in every generation that shipped them:
 *
 * | who | keys |
 * |---|---|
 * | NanoMQ 0.10 to 0.13.5 (`nanomq.conf`, `nanomq_web_hook.conf`), `nanomq_old.conf` to today | `enable`, `url`, `headers.<name>`, `body.encoding_of_payload_field`, `ssl.{cacertfile,certfile,keyfile,verify,server_name_indication}`, `pool_size`, `rule.*` |
 * | EMQX 4.0, 4.1 | `api.url`, `encode_payload` (`base64`/`base62`), `rule.*` |
 * | EMQX 4.2 | adds `headers.<name>`, `ssl` (on/off), `ssl.{cafile,certfile,keyfile,verify}`, `pool_size` |
 * | EMQX 4.3, 4.4 | `url`, `headers.<name>`, `body.encoding_of_payload_field`, `ssl.{cacertfile,certfile,keyfile,verify,server_name_indication}`, `pool_size`, `enable_pipelining`, `rule.*` |
 *
 * A rule is `web.hook.rule.<client|session|message>.<event>.<n> = {"action": "...", "topic": "..."}`: the
 * key names the event (as in NanoMQ and EMQX). Every other line of the file belongs to another part of
 * the broker and is skipped here.
 */

const LEGACY_LINE = /^\s*([^\s=]+)\s*=\s*(.*?)\s*$/
const RULE_KEY = /^rule\.(client|session|message)\.([A-Za-z_]+)\.([^.]+)$/
/** EMQX 4.4's HTTP pipelining switch: our sender keeps its own `pipelining` setting. */
const IGNORED_KEYS = new Set(['enable_pipelining'])
const KNOWN_KEYS = [
  'enable',
  'url',
  'api.url',
  'headers.<name>',
  'body.encoding_of_payload_field',
  'encode_payload',
  'pool_size',
  'ssl',
  'ssl.cacertfile',
  'ssl.cafile',
  'ssl.certfile',
  'ssl.keyfile',
  'ssl.verify',
  'ssl.server_name_indication',
  'enable_pipelining',
  'rule.<client|session|message>.<event>.<n>',
]

/** Whether `text` has an uncommented `web.hook.` line. */
export function hasLegacyLines(text: string): boolean {
  return /^[ \t]*web\.hook\./m.test(text)
}

/** Builds the config from the `web.hook.*` lines of `text`, with the line of each key; other lines are skipped. */
export function parseLegacy(text: string, file: string): LocatedConfig {
  const config: Record<string, unknown> = {}
  const where = new Map<string, Location>()
  const headers: Record<string, string> = {}
  const tls: Record<string, unknown> = {}
  let sslSwitch: { on: boolean; at: Location } | undefined
  const events: EventRule[] = []
  let fallback: Location | undefined
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim().startsWith('web.hook.')) continue
    const keyColumn = line.indexOf('web.hook.') + 1
    const match = LEGACY_LINE.exec(line)
    if (!match) throw new ConfigSyntaxError(file, index + 1, keyColumn, "expected 'web.hook.<key> = <value>'")
    const written = match[1] as string
    const key = written.slice('web.hook.'.length)
    const raw = match[2] as string
    const value = unquote(raw)
    const at: Location = { line: index + 1, column: keyColumn, key: written }
    const valueAt = { line: index + 1, column: line.indexOf(raw, keyColumn + written.length) + 1 }
    fallback ??= at
    const set = (path: string, target: Record<string, unknown>, name: string, parsed: unknown) => {
      target[name] = parsed
      where.set(path, at)
    }

    if (key === 'url' || key === 'api.url') set('url', config, 'url', value)
    else if (key === 'enable') set('enable', config, 'enable', toBoolean(value))
    else if (key === 'pool_size') set('pool_size', config, 'pool_size', toNumber(value))
    else if (key === 'body.encoding_of_payload_field' || key === 'encode_payload') {
      config.body = { encoding: value }
      where.set('body', at)
      where.set('body.encoding', at)
    } else if (key.startsWith('headers.')) set(key, headers, key.slice('headers.'.length), value)
    else if (key === 'ssl') sslSwitch = { on: toBoolean(value) === true, at }
    else if (key.startsWith('ssl.')) setTls(tls, key.slice('ssl.'.length), value, at, where, file)
    else if (RULE_KEY.test(key)) {
      where.set(`events[${events.length}]`, at)
      where.set(`events[${events.length}].event`, at)
      where.set(`events[${events.length}].topic`, at)
      events.push(parseRule(key, written, raw, file, valueAt))
    } else if (!IGNORED_KEYS.has(key))
      throw new ConfigFileError(
        file,
        at.line,
        at.column,
        written,
        `unknown key; the web.hook keys are ${KNOWN_KEYS.join(', ')}`,
      )
  }
  if (Object.keys(headers).length > 0) config.headers = headers
  // EMQX 4.2's `web.hook.ssl = off` (its default) leaves the ssl.* files unused.
  if (Object.keys(tls).length > 0 && sslSwitch?.on !== false) config.tls = tls
  config.events = events
  // EMQX ships its file with every rule commented out: it starts and fires nothing. So do we.
  if (events.length === 0 && config.enable !== false) config.enable = false
  return { config, where, fallback: fallback ?? { line: 1, column: 1, key: 'web.hook' } }
}

/** `rule.message.publish.1 = {"action": "on_message_publish", "topic": "a/#"}`: the key names the event. */
function parseRule(
  key: string,
  written: string,
  raw: string,
  file: string,
  at: { line: number; column: number },
): EventRule {
  if (!raw.startsWith('{'))
    throw new ConfigSyntaxError(
      file,
      at.line,
      at.column,
      `the rule ${written} must be a JSON object like {"action": "on_message_publish", "topic": "a/#"}`,
    )
  // JSON is a subset of HOCON, and the HOCON parser says where a broken rule is broken.
  const { action, ...rest } = parseHocon(raw, file, at)
  const [, group, name] = RULE_KEY.exec(key) as RegExpExecArray
  const event = `on_${group}_${name}`
  if (action !== undefined && (typeof action !== 'string' || action.toLowerCase() !== event))
    throw new ConfigFileError(
      file,
      at.line,
      at.column,
      written,
      `this rule fires ${event} (the key names the event); its action must be "${event}" or left out`,
    )
  return { event, ...rest } as EventRule
}

function setTls(
  tls: Record<string, unknown>,
  name: string,
  value: string,
  at: Location,
  where: Map<string, Location>,
  file: string,
): void {
  const set = (key: string, parsed: unknown) => {
    tls[key] = parsed
    where.set(`tls.${key}`, at)
    where.set('tls', at)
  }
  if (name === 'cacertfile' || name === 'cafile') set('cacertfile', value)
  else if (name === 'certfile' || name === 'keyfile') set(name, value)
  else if (name === 'verify') set('verify_peer', toBoolean(value))
  // NanoMQ documents true/false, EMQX a host name or `disable`: false and disable both mean "send none".
  else if (name === 'server_name_indication')
    set('server_name_indication', value === 'disable' ? false : toBoolean(value))
  else
    throw new ConfigFileError(
      file,
      at.line,
      at.column,
      at.key,
      `unknown key; the web.hook keys are ${KNOWN_KEYS.join(', ')}`,
    )
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}

/** Left as the string when it is not a boolean, so that validation names the key and the bad value. */
function toBoolean(value: string): boolean | string {
  if (value === 'true' || value === 'on') return true
  if (value === 'false' || value === 'off') return false
  return value
}

function toNumber(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value
}
