import { dirname, resolve } from 'node:path'
import { ConfigFileError } from './errors.ts'
import {
  type HoconObject,
  type HoconValue,
  includesOf,
  isHoconObject,
  type Location,
  locationOf,
  parseHocon,
} from './hocon.ts'
import { detectFormat, readConfigFile } from './index.ts'
import { fromFileDirectory } from './located.ts'

/** An address to listen on, from a `bind = "0.0.0.0:1883"` or `url = "nmq-tcp://0.0.0.0:1883"`. */
export interface ListenAddress {
  host: string
  port: number
  /** Where the file says so. */
  at: Location
}

/** What `mqtt-webhook broker` takes from a nanomq.conf besides the webhook: where it listens and who may connect. */
export interface BrokerSettings {
  /** `listeners.tcp` (and `listeners.tcp.<name>`), or the old `url = "nmq-tcp://..."`. Empty: the flags' default. */
  tcp: ListenAddress[]
  /** `listeners.ws`: MQTT over WebSocket; `path` from `bind = "0.0.0.0:8083/mqtt"`. */
  ws?: ListenAddress & { path?: string }
  /** `listeners.ssl`: MQTT over TLS, with the files already resolved against the config file's directory. */
  ssl?: ListenAddress & {
    keyfile: string
    certfile: string
    cacertfile?: string
    keyPassword?: string
    /** Ask clients for a certificate. */
    verifyPeer: boolean
    /** With `verifyPeer`, refuse clients that send none (an invalid one is always refused). */
    failIfNoPeerCert: boolean
  }
  /** `auth`: NanoMQ's rules: anonymous allowed accepts everyone; otherwise a username and password are needed. */
  auth: { allowAnonymous: boolean; users: Map<string, string>; at?: Location }
  /** Parts of the file that would change a NanoMQ broker's behaviour and that this broker does not do. */
  ignored: Location[]
}

/** Sections that change nothing a client sees (threads, logs, the webhook read elsewhere). */
const QUIET = new Set([
  'system',
  'log',
  'webhook',
  'daemon',
  'num_taskq_thread',
  'max_taskq_thread',
  'parallel',
])

/**
 * Reads the listeners and authentication of a NanoMQ config file (HOCON of 0.13.6 and later, or the flat
 * lines of older releases). Whatever decides who may connect and cannot be honoured (HTTP authentication)
 * is refused with a `ConfigFileError`; other broker settings are listed in `ignored`.
 */
export function readBrokerSettings(path: string): BrokerSettings {
  const text = readConfigFile(path)
  const directory = dirname(resolve(path))
  const format = detectFormat(text)
  if (format === 'legacy') return flatSettings(text, path, directory)
  return hoconSettings(parseHocon(text, path), path, directory, format === 'json')
}

function hoconSettings(root: HoconObject, file: string, directory: string, json: boolean): BrokerSettings {
  const settings: BrokerSettings = { tcp: [], auth: { allowAnonymous: true, users: new Map() }, ignored: [] }
  if (json) return settings
  const fail = (at: Location, reason: string): never => {
    throw new ConfigFileError(file, at.line, at.column, at.key, reason)
  }
  const ignore = (container: object, key: string) => {
    const at = writtenAt(container as HoconObject, key)
    if (at) settings.ignored.push(at)
  }
  for (const [key, value] of Object.entries(root)) {
    if (QUIET.has(key)) continue
    const at = locationOf(root, key) as Location
    if (key === 'listeners' && isHoconObject(value)) listeners(value, settings, file, directory, ignore, fail)
    else if (key === 'url' && typeof value === 'string')
      settings.tcp.push(parseUrl(value, 'nmq-tcp', at, fail))
    else if (key === 'allow_anonymous') settings.auth.allowAnonymous = bool(value, at, fail)
    else if (key === 'auth' && isHoconObject(value)) auth(value, settings, file, directory, ignore, fail)
    else if (key === 'mqtt' && isHoconObject(value) && isHoconObject(value.session as HoconValue)) {
      // NanoMQ 0.14-0.18: mqtt.session { allow_anonymous ... } beside the session limits.
      const session = value.session as HoconObject
      for (const inner of Object.keys(session)) {
        const innerAt = locationOf(session, inner) as Location
        if (inner === 'allow_anonymous') settings.auth.allowAnonymous = bool(session[inner], innerAt, fail)
        else settings.ignored.push(innerAt)
      }
    } else if (key === 'authorization' && isHoconObject(value)) authorization(value, settings, fail, ignore)
    else if ((key === 'websocket' || key === 'tls') && isHoconObject(value)) {
      // NanoMQ 0.13.x HOCON: websocket { enable, url } and tls { enable, url, keyfile ... }, as the flat lines.
      const entries: Entries = new Map()
      for (const [inner, innerValue] of Object.entries(value))
        entries.set(inner, { value: String(innerValue), at: locationOf(value, inner) as Location })
      if (key === 'websocket') websocketListener(entries, settings, fail)
      else tlsListener(entries, settings, directory, fail)
    } else if (key === 'auth_http' && !(isHoconObject(value) && value.enable === false))
      fail(
        at,
        'HTTP authentication is not supported by mqtt-webhook broker; set enable = false, or keep NanoMQ for this',
      )
    else ignore(root, key)
  }
  return settings
}

/** Where `container[key]` was written, following a dotted key to its end (`bridges.mqtt.upstream`, not `bridges`). */
function writtenAt(container: HoconObject, key: string): Location | undefined {
  let at = locationOf(container, key)
  let value = container[key]
  while (at && isHoconObject(value) && Object.keys(value).length === 1) {
    const [only] = Object.keys(value) as [string]
    const inner = locationOf(value, only)
    if (!inner || inner.line !== at.line || inner.column !== at.column) break
    at = inner
    value = value[only] as HoconValue
  }
  return at
}

type Fail = (at: Location, reason: string) => never
type Ignore = (container: object, key: string) => void

function listeners(
  block: HoconObject,
  settings: BrokerSettings,
  file: string,
  directory: string,
  ignore: Ignore,
  fail: Fail,
): void {
  for (const [kind, value] of Object.entries(block)) {
    const at = locationOf(block, kind) as Location
    if (!isHoconObject(value) || value.enable === false) continue
    if (kind === 'tcp') {
      if (value.bind !== undefined) settings.tcp.push(parseBind(value, at, fail))
      // listeners.tcp.<name> { bind }: NanoMQ's several TCP listeners.
      for (const [name, inner] of Object.entries(value))
        if (isHoconObject(inner) && inner.bind !== undefined && inner.enable !== false)
          settings.tcp.push(parseBind(inner, locationOf(value, name) as Location, fail))
    } else if (kind === 'ws') {
      const address = parseBind(value, at, fail)
      const slash = String(value.bind).indexOf('/')
      settings.ws = slash === -1 ? address : { ...address, path: String(value.bind).slice(slash) }
    } else if (kind === 'ssl') {
      settings.ssl = sslListener(value, at, file, directory, fail)
    } else {
      ignore(block, kind)
    }
  }
}

function sslListener(value: HoconObject, at: Location, file: string, directory: string, fail: Fail) {
  const path = (key: string, required: boolean): string | undefined => {
    const given = value[key]
    const keyAt = locationOf(value, key) ?? at
    if (given === undefined) {
      if (required) fail(at, `the TLS listener needs ${key}`)
      return undefined
    }
    if (typeof given !== 'string' || given === '') fail(keyAt, 'must be the path of a PEM file')
    return fromFileDirectory(given as string, directory)
  }
  const flag = (key: string) => {
    const given = value[key]
    return given === undefined ? false : bool(given, locationOf(value, key) ?? at, fail)
  }
  void file
  const listener: NonNullable<BrokerSettings['ssl']> = {
    ...parseBind(value, at, fail),
    keyfile: path('keyfile', true) as string,
    certfile: path('certfile', true) as string,
    verifyPeer: flag('verify_peer'),
    failIfNoPeerCert: flag('fail_if_no_peer_cert'),
  }
  const cacertfile = path('cacertfile', false)
  if (cacertfile !== undefined) listener.cacertfile = cacertfile
  if (typeof value.key_password === 'string') listener.keyPassword = value.key_password
  return listener
}

function auth(
  block: HoconObject,
  settings: BrokerSettings,
  file: string,
  directory: string,
  ignore: Ignore,
  fail: Fail,
): void {
  settings.auth.at = locationOf(block, 'allow_anonymous')
  for (const [key, value] of Object.entries(block)) {
    const at = locationOf(block, key) as Location
    if (key === 'allow_anonymous') settings.auth.allowAnonymous = bool(value, at, fail)
    else if (key === 'password' && isHoconObject(value)) passwords(value, settings, file, directory, fail)
    else if (key === 'http_auth' && !(isHoconObject(value) && value.enable === false))
      fail(
        at,
        'HTTP authentication is not supported by mqtt-webhook broker; remove it, or keep NanoMQ for this',
      )
    else ignore(block, key)
  }
}

/** `password = { "admin": "public" }`, or `password = {include "/etc/nanomq_pwd.conf"}` (same lines in a file). */
function passwords(
  block: HoconObject,
  settings: BrokerSettings,
  file: string,
  directory: string,
  fail: Fail,
): void {
  const add = (object: HoconObject) => {
    for (const [user, password] of Object.entries(object)) {
      if (typeof password !== 'string' && typeof password !== 'number')
        fail(locationOf(object, user) as Location, 'must be the password, as "username": "password"')
      settings.auth.users.set(user, String(password))
    }
  }
  add(block)
  for (const include of includesOf(block)) {
    const path = fromFileDirectory(include.path, directory)
    let text: string
    try {
      text = readConfigFile(path)
    } catch {
      fail(include, `cannot read the password file ${path}`)
    }
    add(parseHocon(text as string, path))
  }
  void file
}

/** NanoMQ 0.14-0.18: authorization.sources = [ { type = simple, users = [...] }, { type = file }, { type = http } ]. */
function authorization(block: HoconObject, settings: BrokerSettings, fail: Fail, ignore: Ignore): void {
  for (const [key, value] of Object.entries(block)) {
    if (key !== 'sources' || !Array.isArray(value)) {
      ignore(block, key)
      continue
    }
    for (const [index, source] of value.entries()) {
      const at = locationOf(value, index) as Location
      if (!isHoconObject(source) || source.enable === false) continue
      if (source.type === 'simple' && Array.isArray(source.users)) {
        for (const user of source.users)
          if (isHoconObject(user) && typeof user.username === 'string')
            settings.auth.users.set(user.username, String(user.password ?? ''))
      } else if (source.type === 'http') {
        fail(
          at,
          'HTTP authentication is not supported by mqtt-webhook broker; set enable = false, or keep NanoMQ for this',
        )
      } else {
        settings.ignored.push(at)
      }
    }
  }
}

/** The flat key = value files of NanoMQ before 0.14 (nanomq_old.conf). */
function flatSettings(text: string, file: string, directory: string): BrokerSettings {
  const settings: BrokerSettings = { tcp: [], auth: { allowAnonymous: true, users: new Map() }, ignored: [] }
  const fail: Fail = (at, reason) => {
    throw new ConfigFileError(file, at.line, at.column, at.key, reason)
  }
  const values = new Map<string, { value: string; at: Location }>()
  for (const [index, line] of text.split('\n').entries()) {
    const match = /^(\s*)([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line)
    if (!match || line.trim().startsWith('#')) continue
    const key = match[2] as string
    values.set(key, {
      value: match[3] as string,
      at: { line: index + 1, column: (match[1] as string).length + 1, key },
    })
  }
  const logins = new Map<string, string>()
  const secrets = new Map<string, string>()
  const tls: Entries = new Map()
  const ws: Entries = new Map()
  const reported = new Set<string>()
  for (const [key, { value, at }] of values) {
    if (key === 'url') settings.tcp.push(parseUrl(value, 'nmq-tcp', at, fail))
    else if (key === 'allow_anonymous') settings.auth.allowAnonymous = bool(flatBool(value), at, fail)
    else if (key.startsWith('tls.')) tls.set(key.slice(4), { value, at })
    else if (key.startsWith('websocket.')) ws.set(key.slice(10), { value, at })
    else if (/^auth\.\d+\.login$/.test(key)) logins.set(key.split('.')[1] as string, value)
    else if (/^auth\.\d+\.password$/.test(key)) secrets.set(key.split('.')[1] as string, value)
    else if (key === 'auth.http.enable') {
      if (flatBool(value) === true)
        fail(
          at,
          'HTTP authentication is not supported by mqtt-webhook broker; set it to false, or keep NanoMQ for this',
        )
    } else if (
      key.startsWith('web.hook.') ||
      QUIET.has(key) ||
      key.startsWith('log.') ||
      key.startsWith('auth.http.')
    )
      continue
    else {
      // One line per part (`sqlite.*`), not per key.
      const part = key.includes('.') ? `${key.split('.')[0]}.*` : key
      if (!reported.has(part)) settings.ignored.push({ ...at, key: part })
      reported.add(part)
    }
  }
  for (const [number, login] of logins) settings.auth.users.set(login, secrets.get(number) ?? '')
  websocketListener(ws, settings, fail)
  tlsListener(tls, settings, directory, fail)
  return settings
}

type Entries = Map<string, { value: string; at: Location }>

/** `websocket.enable` + `websocket.url = nmq-ws://0.0.0.0:8083/mqtt`. */
function websocketListener(ws: Entries, settings: BrokerSettings, fail: Fail): void {
  if (flatBool(ws.get('enable')?.value ?? 'false') === true && ws.has('url')) {
    const { value, at } = ws.get('url') as { value: string; at: Location }
    const address = parseUrl(value, 'nmq-ws', at, fail)
    const path = /^[a-z+-]+:\/\/[^/]+(\/.*)$/.exec(value)?.[1]
    settings.ws = path === undefined ? address : { ...address, path }
  }
}

/** `tls.enable`, `tls.url = tls+nmq-tcp://0.0.0.0:8883`, `tls.keyfile`... */
function tlsListener(tls: Entries, settings: BrokerSettings, directory: string, fail: Fail): void {
  if (flatBool(tls.get('enable')?.value ?? 'false') === true) {
    const get = (key: string) => tls.get(key)
    const urlEntry = get('url')
    if (!urlEntry) fail(get('enable')?.at as Location, 'the TLS listener needs tls.url')
    const need = (key: string) => {
      const entry = get(key)
      if (!entry) return fail(get('enable')?.at as Location, `the TLS listener needs tls.${key}`)
      return fromFileDirectory(entry.value, directory)
    }
    const address = parseUrl(
      (urlEntry as { value: string }).value,
      'tls+nmq-tcp',
      (urlEntry as { at: Location }).at,
      fail,
    )
    const listener: NonNullable<BrokerSettings['ssl']> = {
      ...address,
      keyfile: need('keyfile'),
      certfile: need('certfile'),
      verifyPeer: flatBool(get('verify_peer')?.value ?? 'false') === true,
      failIfNoPeerCert: flatBool(get('fail_if_no_peer_cert')?.value ?? 'false') === true,
    }
    if (get('cacertfile')) listener.cacertfile = need('cacertfile')
    if (get('key_password')) listener.keyPassword = get('key_password')?.value as string
    settings.ssl = listener
  }
}

function flatBool(value: string): boolean | string {
  if (value === 'true' || value === 'on') return true
  if (value === 'false' || value === 'off') return false
  return value
}

function bool(value: unknown, at: Location, fail: Fail): boolean {
  if (typeof value !== 'boolean') fail(at, 'must be true or false')
  return value as boolean
}

/** `bind = "0.0.0.0:1883"` (a WebSocket bind may end with a path). */
function parseBind(block: HoconObject, at: Location, fail: Fail): ListenAddress {
  const bind = block.bind
  const bindAt = locationOf(block, 'bind') ?? at
  if (typeof bind !== 'string') return fail(bindAt, 'must be "HOST:PORT", e.g. "0.0.0.0:1883"')
  return hostPort(bind.replace(/\/.*$/, ''), bindAt, fail)
}

/** `nmq-tcp://0.0.0.0:1883`, `nmq-ws://0.0.0.0:8083/mqtt`, `tls+nmq-tcp://0.0.0.0:8883`. */
function parseUrl(url: string, scheme: string, at: Location, fail: Fail): ListenAddress {
  const match = /^([a-z+-]+):\/\/([^/]+)/.exec(url.replace(/^"|"$/g, ''))
  if (!match || match[1] !== scheme) return fail(at, `must be ${scheme}://HOST:PORT`)
  return hostPort(match[2] as string, at, fail)
}

function hostPort(text: string, at: Location, fail: Fail): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text)
  const port = match ? Number(match[3]) : Number.NaN
  if (!match || !(port >= 0 && port <= 65535)) return fail(at, `must be HOST:PORT, got '${text}'`)
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port, at }
}
