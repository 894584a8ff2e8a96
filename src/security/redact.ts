/** What hides a credential in anything we print. */
export const REDACTED = '***'

// `scheme://userinfo@`: userinfo runs to the last `@` before the host's end (`/`, `?`, `#`, space),
// as WHATWG URL parsing does, so a password holding an unescaped `@` is hidden whole.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi
// A bare `user:password@host...` with no scheme (not a URL a parser would take, but users type it).
const BARE_CREDENTIALS = /(^|\s)[^\s/?#:@]+:[^\s/?#]*@/g

/**
 * `url` with any `user:password@` replaced by `***@`, safe for errors, logs and stats. Works on
 * strings no URL parser accepts, and on text holding several urls (an error message).
 */
export function redactUrl(url: string): string {
  return redactWholeUrl(url)
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(BARE_CREDENTIALS, `$1${REDACTED}@`)
}

// When the whole string is one url, its authority ends only at `/`, `?` or `#`: a password
// holding a space (which a URL parser would accept, percent-encoded) is hidden whole too.
function redactWholeUrl(url: string): string {
  const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(url)
  if (scheme === null) return url
  const start = scheme[0].length
  const rest = url.slice(start)
  const authority = rest.slice(0, rest.search(/[/?#]|$/))
  const at = authority.lastIndexOf('@')
  return at === -1 ? url : `${url.slice(0, start)}${REDACTED}${url.slice(start + at)}`
}

/** A safe, one-line account of an error: for `failed` reports, warnings and debug lines. */
export interface ErrorDescription {
  /** `ECONNREFUSED`, `ETIMEDOUT`, `DEPTH_ZERO_SELF_SIGNED_CERT`..., when the error has one. */
  code?: string
  /** The message with url credentials and every `sensitive` string replaced by `***`. */
  message: string
}

/**
 * Describes `error` without leaking: only its code and message are read (never its request,
 * config or headers, which axios attaches), urls lose their credentials, and each `sensitive`
 * string (secrets, the `Authorization` value, passwords) is replaced wherever it appears.
 */
export function describeError(error: unknown, sensitive: readonly string[] = []): ErrorDescription {
  const code = codeOf(error)
  let message = redact(readableOpenSsl(oneLine(messageOf(error))), sensitive)
  if (message === '') message = code ?? 'unknown error'
  return code === undefined ? { message } : { code, message }
}

/** `text` with url credentials and every `sensitive` string replaced by `***`. */
export function redact(text: string, sensitive: readonly string[] = []): string {
  let safe = redactUrl(text)
  // Longest first, so that a secret containing another is hidden whole.
  const ordered = sensitive.filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
  for (const secret of ordered) safe = safe.split(secret).join(REDACTED)
  return safe
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, cause } = error as { code?: unknown; cause?: unknown }
  if (typeof code === 'string' && code !== '') return code
  // axios wraps some low-level errors; the socket's code is then on the cause.
  if (typeof cause === 'object' && cause !== null) {
    const causeCode = (cause as { code?: unknown }).code
    if (typeof causeCode === 'string' && causeCode !== '') return causeCode
  }
  return undefined
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error
  if (typeof error === 'object' && error !== null) {
    const { message } = error as { message?: unknown }
    if (typeof message === 'string') return message
  }
  return String(error)
}

// OpenSSL's `<hex>:error:<hex>:<library>:<function>:<reason>:<source file>:<line>:<detail>`:
// only the reason and the detail (e.g. the TLS alert number) help a user.
const OPENSSL_ERROR = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):[^:]*:\d+:?(.*)$/

function readableOpenSsl(text: string): string {
  const parts = OPENSSL_ERROR.exec(text)
  if (parts === null) return text
  const reason = parts[1] ?? ''
  const detail = (parts[2] ?? '').trim()
  return detail === '' ? reason : `${reason} (${detail})`
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim()
}
