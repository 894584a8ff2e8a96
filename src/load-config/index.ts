import { readFileSync } from 'node:fs'
import { resolveConfig } from '../config.ts'
import type { WebhookConfig } from '../config-types.ts'
import { WebhookConfigError } from '../errors.ts'
import { type HoconObject, type HoconValue, isHoconObject, parseHocon } from './hocon.ts'
import { hasLegacyLines, parseLegacy } from './legacy.ts'

export { ConfigSyntaxError } from './errors.ts'

/** How a config file is written, told from its content (never from its name). */
export type ConfigFormat = 'json' | 'hocon' | 'legacy'

/**
 * Reads a NanoMQ config file: the HOCON `webhook { ... }` block of a `nanomq.conf` (other blocks are
 * ignored), the legacy flat `web.hook.*` lines of NanoMQ before 0.14 and EMQX 4, or JSON (the config
 * object itself, or `{ "webhook": { ... } }`). Returns the config `createWebhook` takes, already validated.
 *
 * @throws ConfigSyntaxError when the file cannot be parsed; its message names the file, line and column.
 * @throws WebhookConfigError when the file cannot be read or holds a bad value (the same error `createWebhook` gives).
 */
export function loadConfig(path: string): WebhookConfig {
  const config = parseConfigText(readConfigFile(path), path)
  resolveConfig(config)
  return config
}

/** Parses config `text` (the content of `file`) without validating its values. */
export function parseConfigText(text: string, file: string): WebhookConfig {
  const format = detectFormat(text)
  if (format === 'legacy') {
    if (!hasLegacyLines(text))
      throw new WebhookConfigError(file, 'no web.hook.* settings found (are they all commented out?)')
    return parseLegacy(text, file)
  }
  const root =
    format === 'json' ? (JSON.parse(text.replace(/^\uFEFF/, '')) as HoconValue) : parseHocon(text, file)
  return webhookSection(root, file)
}

/** JSON when it parses as JSON; legacy when it has `web.hook.` lines or only flat `key = value` lines; else HOCON. */
export function detectFormat(text: string): ConfigFormat {
  const body = text.replace(/^\uFEFF/, '').trim()
  if (body.startsWith('{')) {
    try {
      JSON.parse(body)
      return 'json'
    } catch {
      // Not JSON: HOCON also starts with '{' sometimes, and its parser says where the file is wrong.
    }
  }
  if (hasLegacyLines(text) || looksFlat(text)) return 'legacy'
  return 'hocon'
}

/** A flat file (every line `key=value`, no blocks) is a legacy file, even with every web.hook line commented out. */
function looksFlat(text: string): boolean {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('//'))
  if (lines.some((line) => /^webhook\s*[.={:]/.test(line))) return false
  return lines.length > 0 && lines.every((line) => /^[\w.-]+\s*=/.test(line) && !/[{[]\s*$/.test(line))
}

function webhookSection(root: HoconValue, file: string): WebhookConfig {
  if (!isHoconObject(root)) throw new WebhookConfigError(file, 'expected an object with the webhook settings')
  let section: HoconObject = root
  if (Object.hasOwn(root, 'webhook')) {
    const webhook = root.webhook
    if (!isHoconObject(webhook)) throw new WebhookConfigError('webhook', 'must be a block: webhook { ... }')
    section = webhook
  } else if (!Object.hasOwn(root, 'url') && !Object.hasOwn(root, 'events')) {
    throw new WebhookConfigError(
      file,
      'no webhook settings found: expected a webhook { ... } block, web.hook.* lines, or a JSON object',
    )
  }
  // Validation (resolveConfig) is where a value's type and meaning are judged.
  return section as unknown as WebhookConfig
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable')
    throw new WebhookConfigError(path, `cannot read the config file (${why})`)
  }
}
