import { type ParseArgsConfig, parseArgs } from 'node:util'
import type { WebhookConfig } from '../config-types.ts'
import { WebhookConfigError } from '../errors.ts'
import { ConfigFileError, ConfigSyntaxError, loadConfig } from '../load-config/index.ts'

/** A mistake on the command line or in the config file: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** Exit codes the command promises. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

type Options = NonNullable<ParseArgsConfig['options']>
/** The parsed values of `options`, typed from their declarations. */
type Flags<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>
>['values']

/** `parseArgs` in strict mode, with its long messages turned into one line that names the command. */
export function parseFlags<T extends Options>(command: string, argv: string[], options: T): Flags<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError(describeParseError(command, error as Error & { code?: string }))
  }
}

function describeParseError(command: string, error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? ''
  const help = `(see mqtt-webhook ${command} --help)`
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted} for ${command} ${help}`
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${quoted}' ${help}`
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /--[\w-]+/.exec(error.message)?.[0] ?? 'an option'
    return `${option} needs a value ${help}`
  }
  return `${error.message.split('. ')[0]} ${help}`
}

/** A TCP port, 0 (any free port) to 65535. */
export function parsePort(flag: string, value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(port >= 0 && port <= 65535))
    throw new UsageError(`${flag} must be a port number (0-65535), got '${value}'`)
  return port
}

/** A positive number (seconds, milliseconds...). */
export function parsePositive(flag: string, value: string): number {
  const number = Number(value)
  if (!(number > 0) || !Number.isFinite(number))
    throw new UsageError(`${flag} must be a positive number, got '${value}'`)
  return number
}

/** `host:port`, `[::1]:port`, or `:port` for 127.0.0.1. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value)
  if (!match)
    throw new UsageError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:1883 or [::1]:1883), got '${value}'`)
  const host = match[1] ?? (match[2] || '127.0.0.1')
  return { host, port: parsePort(flag, match[3] as string) }
}

/** Loads `--config`; any error becomes one line that names the file. */
export function readConfigFlag(path: string | undefined, command: string): WebhookConfig {
  if (path === undefined)
    throw new UsageError(`${command} needs --config FILE (see mqtt-webhook ${command} --help)`)
  try {
    return loadConfig(path)
  } catch (error) {
    if (error instanceof ConfigSyntaxError || error instanceof ConfigFileError)
      throw new UsageError(error.message)
    if (error instanceof WebhookConfigError)
      throw new UsageError(error.key === path ? error.message : `${path}: ${error.message}`)
    throw error
  }
}
