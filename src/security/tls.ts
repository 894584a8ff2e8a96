import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { subscribe } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import { type TLSSocket, connect as tlsConnect } from 'node:tls'
import type { buildConnector as BuildConnector } from 'undici'
import type { ResolvedConfig, TlsConfig } from '../config-types.ts'
import { httpLibraries } from '../delivery/http-libraries.ts'
import { WebhookConfigError } from '../errors.ts'

export type ResolvedTls = NonNullable<ResolvedConfig['tls']>

const TLS_KEYS = ['keyfile', 'certfile', 'cacertfile', 'verify_peer', 'server_name_indication'] as const

// Names users bring from Node, EMQX or other NanoMQ blocks: the key they mean here, or why there is none.
const KNOWN_ELSEWHERE: Record<
  string,
  { key: (typeof TLS_KEYS)[number]; note?: string } | { reason: string }
> = {
  ca: { key: 'cacertfile', note: 'a path to a PEM file' },
  cafile: { key: 'cacertfile' },
  cert: { key: 'certfile', note: 'a path to a PEM file' },
  key: { key: 'keyfile', note: 'a path to a PEM file' },
  servername: { key: 'server_name_indication' },
  sni: { key: 'server_name_indication' },
  rejectunauthorized: { key: 'verify_peer' },
  verify: { key: 'verify_peer' },
  key_password: {
    reason:
      'encrypted private keys are not supported; decrypt it with "openssl pkey -in key.pem -out plain.pem"',
  },
  password: {
    reason:
      'encrypted private keys are not supported; decrypt it with "openssl pkey -in key.pem -out plain.pem"',
  },
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/

/**
 * Reads and checks the PEM files of a `tls` block, for Node's `https.Agent`; throws
 * `WebhookConfigError` naming the key (`${keyPrefix}.certfile`...) and the file when one cannot be
 * read or is not valid PEM of the right kind. Never puts file contents in a message.
 */
export function resolveTls(tls: TlsConfig | unknown, keyPrefix: string): ResolvedTls {
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    throw new WebhookConfigError(keyPrefix, `must be an object with ${TLS_KEYS.join(', ')}`)
  }
  const block = tls as Record<string, unknown>
  for (const name of Object.keys(block)) checkKnownKey(name, keyPrefix)

  const verifyPeer = checkVerifyPeer(block.verify_peer, `${keyPrefix}.verify_peer`)
  const servername = checkServerName(block.server_name_indication, `${keyPrefix}.server_name_indication`)
  const cacertPath = checkPath(block.cacertfile, `${keyPrefix}.cacertfile`)
  const certPath = checkPath(block.certfile, `${keyPrefix}.certfile`)
  const keyPath = checkPath(block.keyfile, `${keyPrefix}.keyfile`)
  if (certPath !== undefined && keyPath === undefined) {
    throw new WebhookConfigError(`${keyPrefix}.keyfile`, `is required with ${keyPrefix}.certfile`)
  }
  if (keyPath !== undefined && certPath === undefined) {
    throw new WebhookConfigError(`${keyPrefix}.certfile`, `is required with ${keyPrefix}.keyfile`)
  }

  const resolved: ResolvedTls = { rejectUnauthorized: verifyPeer }
  if (servername !== undefined) resolved.servername = servername
  if (cacertPath !== undefined) {
    resolved.ca = readCertificates(cacertPath, `${keyPrefix}.cacertfile`).pem
  }
  if (certPath !== undefined && keyPath !== undefined) {
    const certificate = readCertificates(certPath, `${keyPrefix}.certfile`)
    const key = readPrivateKey(keyPath, `${keyPrefix}.keyfile`)
    if (!certificate.leaf.checkPrivateKey(key.object)) {
      throw new WebhookConfigError(
        `${keyPrefix}.keyfile`,
        `${keyPath} is not the private key of the certificate in ${certPath}`,
      )
    }
    resolved.cert = certificate.pem
    resolved.key = key.pem
  }
  return resolved
}

// Worded like the rest of the configuration's errors: "unknown key, did you mean 'tls.keyfile'?".
function checkKnownKey(name: string, keyPrefix: string): void {
  if ((TLS_KEYS as readonly string[]).includes(name)) return
  const known = KNOWN_ELSEWHERE[name.toLowerCase()]
  let reason = 'unknown key'
  if (known !== undefined && 'reason' in known) reason += `; ${known.reason}`
  else {
    const meant = known?.key ?? closestKey(name)
    const note = known?.note === undefined ? '' : ` (${known.note})`
    if (meant !== undefined) reason += `, did you mean '${keyPrefix}.${meant}'${note}?`
  }
  throw new WebhookConfigError(`${keyPrefix}.${name}`, reason)
}

function closestKey(name: string): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const known of TLS_KEYS) {
    const distance = editDistance(name.toLowerCase(), known)
    if (distance < bestDistance) {
      best = known
      bestDistance = distance
    }
  }
  // Past a third of the name, the "closest" key is a guess that misleads more than it helps.
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

function checkVerifyPeer(value: unknown, key: string): boolean {
  if (value === undefined) return true
  if (typeof value !== 'boolean')
    throw new WebhookConfigError(key, `must be true or false, got ${typeOf(value)}`)
  return value
}

/** NanoMQ documents true/false, EMQX a name: `true` is the url's host (undefined), `false` none (''). */
function checkServerName(value: unknown, key: string): string | undefined {
  if (value === undefined || value === true) return undefined
  if (value === false) return ''
  if (typeof value !== 'string' || value.trim() === '') {
    throw new WebhookConfigError(key, `must be true, false or a host name, got ${typeOf(value)}`)
  }
  return value
}

function checkPath(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new WebhookConfigError(key, `must be the path of a PEM file, got ${typeOf(value)}`)
  }
  return value
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string'
  return typeof value
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new WebhookConfigError(key, `cannot read ${path} (${code})`)
  }
}

/** Every certificate of a PEM file (a CA bundle or a chain), checked one by one. */
function readCertificates(path: string, key: string): { pem: Buffer; leaf: X509Certificate } {
  const pem = readPem(path, key)
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) throw new WebhookConfigError(key, `${path} holds no PEM certificate`)
  const certificates = blocks.map((block, index) => {
    try {
      return new X509Certificate(block)
    } catch {
      const which = blocks.length === 1 ? 'its certificate' : `certificate ${index + 1} of ${blocks.length}`
      throw new WebhookConfigError(key, `${path}: ${which} is not a valid PEM certificate`)
    }
  })
  return { pem, leaf: certificates[0] as X509Certificate }
}

function readPrivateKey(path: string, key: string): { pem: Buffer; object: KeyObject } {
  const pem = readPem(path, key)
  const text = pem.toString('latin1')
  if (!PEM_PRIVATE_KEY.test(text)) throw new WebhookConfigError(key, `${path} holds no PEM private key`)
  if (text.includes('ENCRYPTED')) {
    throw new WebhookConfigError(key, `${path} is encrypted; passphrases are not supported`)
  }
  try {
    return { pem, object: createPrivateKey(pem) }
  } catch {
    // Node's message may quote decoder internals; the path and the kind are what a user acts on.
    throw new WebhookConfigError(key, `${path} is not a valid PEM private key`)
  }
}

// OpenSSL's verification results, as Node reports them on the socket error's `code`: retrying
// cannot help, the certificate or the trust store must change.
const CERTIFICATE_ERROR_CODES = new Set([
  'CERT_CHAIN_TOO_LONG',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
])

/**
 * Whether an error code says a certificate was refused, by us (the server's) or by the server
 * (ours, in mutual TLS), or the server refused the handshake: such a delivery fails at once instead of
 * being retried.
 */
export function isCertificateError(code: string | undefined): boolean {
  if (code === undefined) return false
  if (CERTIFICATE_ERROR_CODES.has(code) || code === CLIENT_CERT_REJECTED) return true
  return TLS_ALERT.test(code)
}

// TLS alerts the server sends about our certificate or our handshake: 40 handshake_failure
// (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE), 42 bad_certificate, 43 unsupported_certificate, 44/45
// revoked/expired, 48 unknown_ca (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA), 116 certificate_required
// (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)...
const TLS_ALERT =
  /^ERR_SSL_.*ALERT_(?:CERTIFICATE|BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE)/

/**
 * Our code for a connection that a server with a client certificate configured closed right after the
 * TLS handshake, before any answer: what TLS 1.3 servers do when they refuse the certificate without
 * an alert that reaches us (the close races our request, and surfaces as ECONNRESET or EPIPE).
 */
export const CLIENT_CERT_REJECTED = 'ERR_TLS_CLIENT_CERT_REJECTED'

/** A close this soon after the handshake, before any answer, counts as a refusal of the handshake. */
const RIGHT_AFTER_HANDSHAKE_MS = 1000

/** One line for a TLS refusal by the server, or `undefined` when `code` is not one. */
export function describeTlsRefusal(code: string): string | undefined {
  if (code === CLIENT_CERT_REJECTED)
    return 'the server closed the connection right after the TLS handshake, before answering: it refused the client certificate (tls.certfile) or the handshake'
  const alert = /ALERT_(\w+)$/.exec(code)
  if (alert === null || !TLS_ALERT.test(code)) return undefined
  const name = (alert[1] ?? '').toLowerCase()
  const number = TLS_ALERT_NUMBERS[name]
  return `the server refused the TLS handshake: alert ${number === undefined ? '' : `${number} `}${name.replaceAll('_', ' ')}`
}

const TLS_ALERT_NUMBERS: Record<string, number> = {
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  unknown_ca: 48,
  certificate_required: 116,
}

/** The connection side of the transport: undici's connector with our TLS options, and what it saw. */
export interface TlsConnector {
  connect: BuildConnector.connector
  /**
   * The code of the server's refusal that `error` stands for, if it is one: a TLS alert the connection
   * received before any answer, or {@link CLIENT_CERT_REJECTED} for a connection closed within a second
   * of its handshake without any answer while a client certificate is configured.
   */
  refusal(error: unknown): string | undefined
}

/**
 * undici's connector for the endpoint, given Node's TLS options (`undefined` for `http:`).
 * @param timeoutMs How long a connection may take to open.
 * @param withClientCertificate Watch for servers that close right after the handshake (mutual TLS).
 */
export function createTlsConnector(
  options: Record<string, unknown> | undefined,
  timeoutMs: number,
  withClientCertificate: boolean,
): TlsConnector {
  const base =
    options?.servername === ''
      ? connectWithoutServerName(options, timeoutMs)
      : httpLibraries().buildConnector({ ...options, timeout: timeoutMs, keepAlive: true })
  if (options === undefined) return { connect: base, refusal: () => undefined }
  watchUndiciSockets()
  const handshakes = new WeakMap<object, number>()
  const alerts = new WeakMap<object, string>()
  return {
    connect(connectOptions, callback) {
      base(connectOptions, (error, socket) => {
        if (socket != null) {
          handshakes.set(socket, Date.now())
          // The server's alert may reach the socket after undici has already failed the request on the
          // close that follows it: kept here, it still names the refusal.
          socket.on('error', (socketError: { code?: unknown }) => {
            if (typeof socketError.code === 'string' && TLS_ALERT.test(socketError.code))
              alerts.set(socket, socketError.code)
          })
        }
        ;(callback as (e: Error | null, s: unknown) => void)(error, socket)
      })
    },
    refusal(error) {
      if (typeof error !== 'object' || error === null) return undefined
      const socket = socketOfError.get(error)
      if (socket === undefined || answered.has(socket)) return undefined
      const alert = alerts.get(socket)
      if (alert !== undefined) return alert
      const at = handshakes.get(socket)
      if (!withClientCertificate || at === undefined || Date.now() - at > RIGHT_AFTER_HANDSHAKE_MS)
        return undefined
      const code = (error as { code?: unknown }).code
      return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET'
        ? CLIENT_CERT_REJECTED
        : undefined
    },
  }
}

/**
 * `server_name_indication = false`: no name in the handshake, the certificate still checked against the
 * url's host. undici's own connector always sends one (it falls back to the host for an empty name), so
 * this case connects with Node's `tls.connect` itself, as undici would otherwise.
 */
function connectWithoutServerName(
  options: Record<string, unknown>,
  timeoutMs: number,
): BuildConnector.connector {
  return ({ hostname, port }, callback) => {
    const socket = tlsConnect({
      ...options,
      host: hostname,
      port: Number(port || 443),
      ALPNProtocols: ['http/1.1'],
    })
    socket.setKeepAlive(true, 60_000)
    const timer = setTimeout(() => {
      const error = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })
      socket.destroy(error)
    }, timeoutMs)
    const settle = (error: Error | null) => {
      clearTimeout(timer)
      socket.off('secureConnect', onConnect)
      socket.off('error', settle)
      if (error === null) (callback as (e: null, s: TLSSocket) => void)(null, socket)
      else (callback as (e: Error, s: null) => void)(error, null)
    }
    const onConnect = () => settle(null)
    socket.once('secureConnect', onConnect)
    socket.once('error', settle)
  }
}

// undici tells which socket carried a request, and which requests were answered, only through its
// diagnostics channels; WeakMaps keyed by its objects keep nothing alive.
const socketOfRequest = new WeakMap<object, object>()
const socketOfError = new WeakMap<object, object>()
const answered = new WeakSet<object>()
let watching = false

function watchUndiciSockets(): void {
  if (watching) return
  watching = true
  subscribe('undici:client:sendHeaders', (message) => {
    const { request, socket } = message as { request: object; socket: object }
    socketOfRequest.set(request, socket)
  })
  subscribe('undici:request:headers', (message) => {
    const socket = socketOfRequest.get((message as { request: object }).request)
    if (socket !== undefined) answered.add(socket)
  })
  subscribe('undici:request:error', (message) => {
    const { request, error } = message as { request: object; error: unknown }
    const socket = socketOfRequest.get(request)
    if (socket !== undefined && typeof error === 'object' && error !== null) socketOfError.set(error, socket)
  })
}
