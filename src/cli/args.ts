import { parseArgs } from 'node:util'
import type { WebhookConfig } from '../config-types.ts'
import { closestName } from '../did-you-mean.ts'
import { WebhookConfigError } from '../errors.ts'
import { ConfigFileError, ConfigSyntaxError, loadConfig } from '../load-config/index.ts'

/** A mistake on the command line or in the config file: exit code 2, the message (and the usage) on stderr. */
export class UsageError extends Error {
  override name = 'UsageError'
  /** The command's usage, printed after the message when the mistake is on the command line. */
  readonly usage: string | undefined
  constructor(message: string, usage?: string) {
    super(message)
    this.usage = usage
  }
}

/**
 * Exit codes the command promises. `dropped`: it stopped as asked, but some events were never delivered
 * (dropped from a full queue, or still queued at the drain deadline); the `stopped` line says how many.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, dropped: 3 } as const

/** One command-line option; every one can also be set from `MQTT_WEBHOOK_<NAME>` (see {@link envName}). */
export interface FlagSpec {
  type: 'string' | 'boolean'
  /** The value's placeholder in the usage, e.g. `FILE`. */
  value?: string
  short?: string
  multiple?: boolean
  /** The value when neither the command line nor the environment gives one. */
  default?: string
  /** One line for the usage. */
  help: string
}

export interface CommandSpec {
  name: string
  /** What follows `mqtt-webhook NAME` on the usage's first line. */
  synopsis: string
  /** A few lines on what the command does. */
  description: string
  flags: Record<string, FlagSpec>
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>

/** The largest delay Node's timers keep: a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** `--drain-timeout` -> `MQTT_WEBHOOK_DRAIN_TIMEOUT`. */
export function envName(flag: string): string {
  return `MQTT_WEBHOOK_${flag.toUpperCase().replaceAll('-', '_')}`
}

/** The usage text, generated from the flags so that it cannot forget one or its variable. */
export function usage(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, flag]) => {
    const left = `${flag.short ? `-${flag.short}, ` : ''}--${name}${flag.value ? ` ${flag.value}` : ''}`
    const fallback = flag.default === undefined ? '' : ` (default ${flag.default})`
    return `  ${left.padEnd(26)} ${flag.help}${fallback}`
  })
  const example = Object.keys(spec.flags)[0] ?? 'config'
  return [
    `Usage: mqtt-webhook ${spec.name} ${spec.synopsis}`,
    '',
    spec.description,
    '',
    'Options:',
    ...rows,
    `  ${'-h, --help'.padEnd(26)} this help`,
    '',
    `Each option can also come from the environment: --${example} from ${envName(example)}, and so on`,
    '(the command line wins).',
    ...(Object.values(spec.flags).some((flag) => flag.value === 'DURATION')
      ? ['Durations take a unit: 500ms, 10s, 5m, 1h; a bare number is seconds.']
      : []),
  ].join('\n')
}

/**
 * The command line, then `MQTT_WEBHOOK_*` variables, then defaults. A mistake throws a {@link UsageError}
 * carrying the usage; `help` is `true` when `-h`/`--help` was given (and nothing else is checked then).
 */
export function parseCommand(
  spec: CommandSpec,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { help: boolean; values: FlagValues } {
  if (argv.includes('--help') || argv.includes('-h')) return { help: true, values: {} }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {}
  for (const [name, flag] of Object.entries(spec.flags))
    options[name] = {
      type: flag.type,
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    }
  let given: FlagValues
  try {
    given = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as FlagValues
  } catch (error) {
    throw new UsageError(describeParseError(spec, error as Error & { code?: string }), usage(spec))
  }
  const values: FlagValues = {}
  for (const [name, flag] of Object.entries(spec.flags)) {
    const fromEnv = env[envName(name)]
    values[name] =
      given[name] ??
      (fromEnv !== undefined && fromEnv !== '' ? fromEnvironment(name, flag, fromEnv) : undefined) ??
      flag.default
  }
  return { help: false, values }
}

function fromEnvironment(name: string, flag: FlagSpec, value: string): string | boolean | string[] {
  if (flag.type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(value)) return true
    if (/^(0|false|no|off)$/i.test(value)) return false
    throw new UsageError(`${envName(name)} must be true or false, got '${value}'`)
  }
  return flag.multiple ? value.split(/[\s,]+/).filter(Boolean) : value
}

function describeParseError(spec: CommandSpec, error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? ''
  const help = `(see mqtt-webhook ${spec.name} --help)`
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const suggestion = closestName(quoted.replace(/^-+/, '').split('=')[0] ?? '', Object.keys(spec.flags))
    const hint = suggestion ? `: did you mean --${suggestion}?` : ''
    return `unknown option ${quoted} for ${spec.name}${hint} ${help}`
  }
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

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A duration in milliseconds from `500ms`, `10s`, `1.5m`, `1h`, or a bare number of seconds. Past
 * {@link MAX_TIMER_MS} (24.8 days) it is refused: Node's timers would fire after 1 ms instead.
 */
export function parseDuration(flag: string, value: string, options: { allowZero?: boolean } = {}): number {
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim())
  const ms = match ? Number(match[1]) * (UNIT_MS[(match[2] ?? 's').toLowerCase()] ?? 1000) : Number.NaN
  if (!Number.isFinite(ms) || ms < 0 || (ms === 0 && !options.allowZero))
    throw new UsageError(
      `${flag} must be a ${options.allowZero ? '' : 'positive '}duration such as 500ms, 10s or 5m (a bare number is seconds), got '${value}'`,
    )
  if (ms > MAX_TIMER_MS)
    throw new UsageError(
      `${flag} must be at most 24d (${MAX_TIMER_MS}ms, Node's longest timer), got '${value}'`,
    )
  return Math.round(ms)
}

/** `1500` -> `1.5s`, `200` -> `200ms`: how durations are shown back. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`
}

/** `host:port`, `[::1]:port`, or `:port` for 127.0.0.1. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value)
  if (!match)
    throw new UsageError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:1883 or [::1]:1883), got '${value}'`)
  const host = match[1] ?? (match[2] || '127.0.0.1')
  return { host, port: parsePort(flag, match[3] as string) }
}

/** `[::1]` for IPv6 addresses, as URLs write them. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** Loads `--config`; any error becomes one line that names the file. */
export function readConfigFlag(path: string | undefined, spec: CommandSpec): WebhookConfig {
  if (path === undefined)
    throw new UsageError(
      `${spec.name} needs --config FILE (or ${envName('config')}) (see mqtt-webhook ${spec.name} --help)`,
      usage(spec),
    )
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
