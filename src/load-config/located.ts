import { isAbsolute, resolve } from 'node:path'
import { WebhookConfigError } from '../errors.ts'
import { ConfigFileError, ConfigSyntaxError } from './errors.ts'
import type { Location } from './hocon-object.ts'

/**
 * A config read from a file, with where each of its keys was written: the keys of `where` are the
 * config's own key paths as `resolveConfig` names them in errors (`events[2].topic`, `tls.certfile`).
 */
export interface LocatedConfig {
  config: Record<string, unknown>
  where: Map<string, Location>
  /** Where errors about a key the file never wrote point (the webhook block, or its first line). */
  fallback: Location
}

/** Keys whose values are paths: relative ones are taken from the config file's directory. */
const PATH_KEYS = ['keyfile', 'certfile', 'cacertfile'] as const

/** `path` resolved against the directory of the config file, when it is relative. */
export function fromFileDirectory(path: string, directory: string): string {
  return isAbsolute(path) ? path : resolve(directory, path)
}

/** Resolves the relative file paths of a `tls`/`ssl` block (and a sqlite queue's path) against `directory`. */
export function resolvePaths(config: Record<string, unknown>, directory: string): void {
  for (const block of ['tls', 'ssl']) {
    const tls = config[block]
    if (typeof tls !== 'object' || tls === null) continue
    const fields = tls as Record<string, unknown>
    for (const key of PATH_KEYS) {
      const value = fields[key]
      if (typeof value === 'string' && value !== '') fields[key] = fromFileDirectory(value, directory)
    }
  }
  const queue = config.queue
  if (typeof queue === 'object' && queue !== null) {
    const fields = queue as Record<string, unknown>
    if (typeof fields.path === 'string' && fields.path !== '' && fields.path !== ':memory:')
      fields.path = fromFileDirectory(fields.path, directory)
  }
}

/**
 * Runs `validate`; a `WebhookConfigError` it throws about a key becomes a `ConfigFileError` naming the
 * file, the line and column where that key (or the nearest enclosing one) was written, and the key as written.
 */
export function withLocations<T>(located: LocatedConfig, file: string, validate: () => T): T {
  try {
    return validate()
  } catch (error) {
    if (
      !(error instanceof WebhookConfigError) ||
      error instanceof ConfigFileError ||
      error instanceof ConfigSyntaxError
    )
      throw error
    throw locate(error, located, file)
  }
}

export function locate(error: WebhookConfigError, located: LocatedConfig, file: string): ConfigFileError {
  const segments = splitKey(error.key)
  for (let length = segments.length; length > 0; length--) {
    const prefix = joinKey(segments.slice(0, length))
    const at = located.where.get(prefix)
    if (at === undefined) continue
    const rest = segments.slice(length)
    const written = rest.length === 0 ? at.key : `${at.key}${joinKey(rest, true)}`
    return new ConfigFileError(file, at.line, at.column, written, error.reason)
  }
  const at = located.fallback
  const written = at.key === '' ? error.key : `${at.key}.${error.key}`
  return new ConfigFileError(file, at.line, at.column, written, error.reason)
}

/** `events[2].topic` -> `['events', '[2]', 'topic']`; `headers.x-a` keeps its dots after `headers.`. */
function splitKey(key: string): string[] {
  if (key.startsWith('headers.')) return ['headers', key.slice('headers.'.length)]
  return key.split(/\.|(?=\[)/).filter((part) => part !== '')
}

function joinKey(segments: string[], leading = false): string {
  let out = ''
  for (const segment of segments) {
    if (segment.startsWith('[')) out += segment
    else out += out === '' && !leading ? segment : `.${segment}`
  }
  return out
}

/** Records in `where`, under `prefix`, the location of every key and element of `value` (as parsed). */
export function recordLocations(
  where: Map<string, Location>,
  prefix: string,
  value: unknown,
  locationOf: (container: object, key: string | number) => Location | undefined,
): void {
  if (typeof value !== 'object' || value === null) return
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value)
  for (const [key, inner] of entries) {
    const path = typeof key === 'number' ? `${prefix}[${key}]` : prefix === '' ? key : `${prefix}.${key}`
    const at = locationOf(value, key)
    if (at) where.set(path, at)
    recordLocations(where, path, inner, locationOf)
  }
}
