import type { HoconObject } from './hocon.ts'
import { type Location, locationOf } from './hocon.ts'

/** An address to listen on, from a `bind = "0.0.0.0:1883"` or `url = "nmq-tcp://0.0.0.0:1883"`. */
export interface ListenAddress {
  host: string
  port: number
  /** Where the file says so. */
  at: Location
}

/** Sections that change nothing a client sees (threads, logs, the webhook read elsewhere). */
export const QUIET = new Set([
  'system',
  'log',
  'webhook',
  'daemon',
  'num_taskq_thread',
  'max_taskq_thread',
  'parallel',
])

export type Fail = (at: Location, reason: string) => never
export type Ignore = (container: object, key: string) => void

export type Entries = Map<string, { value: string; at: Location }>

export function flatBool(value: string): boolean | string {
  if (value === 'true' || value === 'on') return true
  if (value === 'false' || value === 'off') return false
  return value
}

export function bool(value: unknown, at: Location, fail: Fail): boolean {
  if (typeof value !== 'boolean') fail(at, 'must be true or false')
  return value as boolean
}

/** `bind = "0.0.0.0:1883"` (a WebSocket bind may end with a path). */
export function parseBind(block: HoconObject, at: Location, fail: Fail): ListenAddress {
  const bind = block.bind
  const bindAt = locationOf(block, 'bind') ?? at
  if (typeof bind !== 'string') return fail(bindAt, 'must be "HOST:PORT", e.g. "0.0.0.0:1883"')
  return hostPort(bind.replace(/\/.*$/, ''), bindAt, fail)
}

/** `nmq-tcp://0.0.0.0:1883`, `nmq-ws://0.0.0.0:8083/mqtt`, `tls+nmq-tcp://0.0.0.0:8883`. */
export function parseUrl(url: string, scheme: string, at: Location, fail: Fail): ListenAddress {
  const match = /^([a-z+-]+):\/\/([^/]+)/.exec(url.replace(/^"|"$/g, ''))
  if (!match || match[1] !== scheme) return fail(at, `must be ${scheme}://HOST:PORT`)
  return hostPort(match[2] as string, at, fail)
}

export function hostPort(text: string, at: Location, fail: Fail): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text)
  const port = match ? Number(match[3]) : Number.NaN
  if (!match || !(port >= 0 && port <= 65535)) return fail(at, `must be HOST:PORT, got '${text}'`)
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port, at }
}
