import type { EventRule, TlsConfig, WebhookConfig } from '../config-types.ts'
import { WebhookConfigError } from '../errors.ts'
import type { HookEventName } from '../events.ts'
import { ConfigSyntaxError } from './errors.ts'
import { type Position, parseHocon } from './hocon.ts'

/**
 * The flat `web.hook.*` lines of NanoMQ before 0.14 (`nanomq_old.conf`) and of EMQX 4 (`emqx_web_hook.conf`):
 *
 * ```
 * web.hook.url=http://127.0.0.1:80
 * web.hook.headers.content-type=application/json
 * web.hook.rule.message.publish.1={"action": "on_message_publish", "topic": "a/b"}
 * ```
 *
 * Every other line of the file belongs to another part of the broker and is ignored.
 */

const LEGACY_LINE = /^\s*([^\s=]+)\s*=\s*(.*?)\s*$/
const RULE_KEY = /^rule\.(client|session|message)\.([a-z_]+)\.([^.]+)$/
/** Keys that mean nothing here and are accepted so that an EMQX 4 file loads as it is. */
const IGNORED_KEYS = new Set(['enable_pipelining'])
const KNOWN_KEYS = [
  'enable',
  'url',
  'api.url',
  'headers.<name>',
  'body.encoding_of_payload_field',
  'pool_size',
  'ssl.cacertfile',
  'ssl.certfile',
  'ssl.keyfile',
  'ssl.verify',
  'ssl.server_name_indication',
  'rule.<client|session|message>.<name>.<n>',
]

/** Whether `text` has an uncommented `web.hook.` line. */
export function hasLegacyLines(text: string): boolean {
  return /^[ \t]*web\.hook\./m.test(text)
}

/** Builds the config from the `web.hook.*` lines of `text`; other lines are ignored. */
export function parseLegacy(text: string, file: string): WebhookConfig {
  const config: Record<string, unknown> = {}
  const headers: Record<string, string> = {}
  const tls: TlsConfig = {}
  const events: EventRule[] = []
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim()
    if (!trimmed.startsWith('web.hook.')) continue
    const match = LEGACY_LINE.exec(line)
    if (!match)
      throw new ConfigSyntaxError(
        file,
        index + 1,
        line.indexOf('web.hook.') + 1,
        "expected 'web.hook.<key> = <value>'",
      )
    const key = (match[1] as string).slice('web.hook.'.length)
    const raw = match[2] as string
    const value = unquote(raw)
    const at = { line: index + 1, column: line.indexOf(raw) + 1 }

    if (key === 'url' || key === 'api.url') config.url = value
    else if (key === 'enable') config.enable = toBoolean(value)
    else if (key === 'pool_size') config.pool_size = toNumber(value)
    else if (key === 'body.encoding_of_payload_field') config.body = { encoding: value }
    else if (key.startsWith('headers.')) headers[key.slice('headers.'.length)] = value
    else if (key.startsWith('ssl.')) setTls(tls, key, value)
    else if (RULE_KEY.test(key)) events.push(parseRule(key, raw, file, at))
    else if (!IGNORED_KEYS.has(key))
      throw new WebhookConfigError(
        `web.hook.${key}`,
        `unknown key; the web.hook keys are ${KNOWN_KEYS.join(', ')}`,
      )
  }
  if (Object.keys(headers).length > 0) config.headers = headers
  if (Object.keys(tls).length > 0) config.tls = tls
  config.events = events
  return config as unknown as WebhookConfig
}

/** `rule.message.publish.1 = {"action": "on_message_publish", "topic": "a/#"}`; the action names the event. */
function parseRule(key: string, raw: string, file: string, at: Position): EventRule {
  if (!raw.startsWith('{'))
    throw new ConfigSyntaxError(
      file,
      at.line,
      at.column,
      `the rule web.hook.${key} must be a JSON object like {"action": "on_message_publish", "topic": "a/#"}`,
    )
  // JSON is a subset of HOCON, and the HOCON parser says where a broken rule is broken.
  const { action, ...rest } = parseHocon(raw, file, at)
  const [, group, name] = RULE_KEY.exec(key) as RegExpExecArray
  const event = (typeof action === 'string' ? action : `on_${group}_${name}`) as HookEventName
  return { event, ...rest } as EventRule
}

function setTls(tls: TlsConfig, key: string, value: string): void {
  const name = key.slice('ssl.'.length)
  if (name === 'cacertfile' || name === 'certfile' || name === 'keyfile') tls[name] = value
  else if (name === 'verify') tls.verify_peer = toBoolean(value) as boolean
  else if (name === 'server_name_indication') {
    // NanoMQ and EMQX let 'disable' skip the name check; we always check it, so refuse rather than mislead.
    if (value === 'disable' || value === 'false')
      throw new WebhookConfigError(
        `web.hook.${key}`,
        `'${value}' is not supported: the certificate's name is always checked; give the expected host name`,
      )
    tls.server_name_indication = value
  } else
    throw new WebhookConfigError(
      `web.hook.${key}`,
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
