import type { BrokerSettings } from './broker-settings.ts'
import { bool, type Entries, type Fail, flatBool, parseUrl, QUIET } from './broker-values.ts'
import { ConfigFileError } from './errors.ts'
import type { Location } from './hocon.ts'
import { fromFileDirectory } from './located.ts'

/** The flat key = value files of NanoMQ before 0.14 (nanomq_old.conf). */
export function flatSettings(text: string, file: string, directory: string): BrokerSettings {
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

/** `websocket.enable` + `websocket.url = nmq-ws://0.0.0.0:8083/mqtt`. */
export function websocketListener(ws: Entries, settings: BrokerSettings, fail: Fail): void {
  if (flatBool(ws.get('enable')?.value ?? 'false') === true && ws.has('url')) {
    const { value, at } = ws.get('url') as { value: string; at: Location }
    const address = parseUrl(value, 'nmq-ws', at, fail)
    const path = /^[a-z+-]+:\/\/[^/]+(\/.*)$/.exec(value)?.[1]
    settings.ws = path === undefined ? address : { ...address, path }
  }
}

/** `tls.enable`, `tls.url = tls+nmq-tcp://0.0.0.0:8883`, `tls.keyfile`... */
export function tlsListener(tls: Entries, settings: BrokerSettings, directory: string, fail: Fail): void {
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
