import { dirname, resolve } from 'node:path'
import { flatSettings, tlsListener, websocketListener } from './broker-flat.ts'
import {
  bool,
  type Entries,
  type Fail,
  type Ignore,
  type ListenAddress,
  parseBind,
  parseUrl,
  QUIET,
} from './broker-values.ts'
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

export type { ListenAddress } from './broker-values.ts'

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
    if (key === 'listeners' && isHoconObject(value)) listeners(value, settings, directory, ignore, fail)
    else if (key === 'url' && typeof value === 'string')
      settings.tcp.push(parseUrl(value, 'nmq-tcp', at, fail))
    else if (key === 'allow_anonymous') settings.auth.allowAnonymous = bool(value, at, fail)
    else if (key === 'auth' && isHoconObject(value)) auth(value, settings, directory, ignore, fail)
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

function listeners(
  block: HoconObject,
  settings: BrokerSettings,
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
      settings.ssl = sslListener(value, at, directory, fail)
    } else {
      ignore(block, kind)
    }
  }
}

function sslListener(value: HoconObject, at: Location, directory: string, fail: Fail) {
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
  directory: string,
  ignore: Ignore,
  fail: Fail,
): void {
  settings.auth.at = locationOf(block, 'allow_anonymous')
  for (const [key, value] of Object.entries(block)) {
    const at = locationOf(block, key) as Location
    if (key === 'allow_anonymous') settings.auth.allowAnonymous = bool(value, at, fail)
    else if (key === 'password' && isHoconObject(value)) passwords(value, settings, directory, fail)
    else if (key === 'http_auth' && !(isHoconObject(value) && value.enable === false))
      fail(
        at,
        'HTTP authentication is not supported by mqtt-webhook broker; remove it, or keep NanoMQ for this',
      )
    else ignore(block, key)
  }
}

/** `password = { "admin": "public" }`, or `password = {include "/etc/nanomq_pwd.conf"}` (same lines in a file). */
function passwords(block: HoconObject, settings: BrokerSettings, directory: string, fail: Fail): void {
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
