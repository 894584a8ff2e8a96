import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { resolveConfig } from '../config.ts'
import type { WebhookConfig } from '../config-types.ts'
import { WebhookConfigError } from '../errors.ts'
import { parseHocon } from './hocon.ts'
import { hasLegacyLines, parseLegacy } from './legacy.ts'
import { type LocatedConfig, resolvePaths, withLocations } from './located.ts'
import { translateWebhookSection, webhookSection } from './nanomq.ts'

export { ConfigFileError, ConfigSyntaxError } from './errors.ts'

/** How a config file is written, told from its content (never from its name). */
export type ConfigFormat = 'json' | 'hocon' | 'legacy'

/**
 * Reads a NanoMQ or EMQX 4 config file: the HOCON `webhook { ... }` block of a `nanomq.conf` in every shape
 * NanoMQ has shipped (other blocks are skipped), the flat `web.hook.*` lines of NanoMQ and of every EMQX 4
 * release, or JSON (the config object itself, or `{ "webhook": { ... } }`). Relative file paths in it are
 * taken from the file's directory. Returns the config `createWebhook` takes, already validated.
 *
 * @throws ConfigSyntaxError when the file cannot be parsed; its message names the file, line and column.
 * @throws ConfigFileError when a value is bad: the message names the file, line and column, the key as the file
 *   writes it, and the reason (the same reason `createWebhook` gives).
 * @throws WebhookConfigError when the file cannot be read or holds no webhook settings.
 */
export function loadConfig(path: string): WebhookConfig {
  const located = readLocatedConfig(path)
  withLocations(located, path, () => resolveConfig(located.config as unknown as WebhookConfig))
  return located.config as unknown as WebhookConfig
}

/** The config of the file at `path` with where each key was written, not validated yet. */
export function readLocatedConfig(path: string): LocatedConfig {
  const located = parseLocatedConfig(readConfigFile(path), path)
  resolvePaths(located.config, dirname(resolve(path)))
  return located
}

/** Parses config `text` (the content of `file`) without validating its values or resolving its paths. */
export function parseConfigText(text: string, file: string): WebhookConfig {
  return parseLocatedConfig(text, file).config as unknown as WebhookConfig
}

function parseLocatedConfig(text: string, file: string): LocatedConfig {
  if (detectFormat(text) === 'legacy') {
    if (!hasLegacyLines(text))
      throw new WebhookConfigError(file, 'no web.hook.* settings found (are they all commented out?)')
    return parseLegacy(text, file)
  }
  // JSON is read by the HOCON reader too (it is a subset), so that its errors have lines as well.
  const { section, at } = webhookSection(parseHocon(text, file), file)
  return translateWebhookSection(section, at, file)
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

export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable')
    throw new WebhookConfigError(path, `cannot read the config file (${why})`)
  }
}
