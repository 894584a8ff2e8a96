/** What hides a credential in anything we print. */
export const REDACTED = '***'

// `scheme://userinfo@`: userinfo runs to the last `@` before the host's end (`/`, `?`, `#`, space),
// as WHATWG URL parsing does, so a password holding an unescaped `@` is hidden whole.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi
// A bare `user:password@host...` with no scheme (not a URL a parser would take, but users type it).
const BARE_CREDENTIALS = /(^|\s)[^\s/?#:@]+:[^\s/?#]*@/g

/**
 * `url` with any `user:password@` replaced by `***@`, every query value by `***` (`?token=***&v=***`) and
 * every path segment that looks like a token by `***` (`/services/T0001/B0001/***`, see `isPathToken`)
 * and the fragment by `***`,
 * safe for errors, logs and stats: hosted endpoints often carry their token in the query or the path.
 * Works on strings no URL parser accepts, and on text holding several urls (an error message).
 */
export function redactUrl(url: string): string {
  return redactUrlsIn(redactWholeUrl(url))
}

/** Every url inside `text` without credentials, path tokens and query values; `text` is a message, not one url. */
function redactUrlsIn(text: string): string {
  return text
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(BARE_CREDENTIALS, `$1${REDACTED}@`)
    .replace(URL_PATH, (_match, start: string, path: string) => `${start}${redactPath(path)}`)
    .replace(URL_QUERY, (_match, start: string, query: string) => `${start}${redactQuery(query)}`)
    .replace(URL_FRAGMENT, `$1${REDACTED}`)
}

// A url's fragment inside text. It is never sent, so nothing a reader needs; a token is sometimes kept there.
// It ends where the url does, before punctuation that ends the sentence (`…#token: refused`).
const URL_FRAGMENT = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s#]*#)[^\s'"`<>]+?(?=[:,;.)]*(?:[\s'"`<>]|$))/gi

// A url's path inside text: from the first `/` after the authority to `?`, `#` or what cannot be in one.
const URL_PATH = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#]*)(\/[^\s?#'"`<>]*)/gi

/**
 * Path segments this long or longer are taken for tokens when they do not read as words: Slack's
 * `/services/T…/B…/<24 characters>`, Discord's `/api/webhooks/<id>/<68 characters>`, a bot's
 * `/bot<id>:<token>/`, a UUID. Shorter ones (`/hook`, `/v1`, `/T0001`) are names.
 */
const MIN_PATH_TOKEN_LENGTH = 16
/** A word this long is no word: a token in one lower-case (or one upper-case) run. */
const MIN_TOKEN_WORD_LENGTH = 24

/**
 * Whether a url path segment looks like a token: at least 16 characters, and one of its words (split at
 * ` _-./:`) looks generated (a digit followed by a letter, case flipping more than a camelCase name does)
 * or is 24 characters or more. Numbers alone (Discord's ids) are kept: a reader needs to tell urls apart.
 */
function isPathToken(segment: string): boolean {
  const text = decode(segment)
  if (text.length < MIN_PATH_TOKEN_LENGTH) return false
  return text.split(SEPARATORS).some((word) => !looksWritten(word) || word.length >= MIN_TOKEN_WORD_LENGTH)
}

/** Each path segment that looks like a token as `***`. */
function redactPath(path: string): string {
  return path
    .split('/')
    .map((segment) => (isPathToken(segment) ? REDACTED : segment))
    .join('/')
}

// A url's query inside text: from `?` to the first character that cannot be in one unescaped.
const URL_QUERY = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*\?)([^\s#'"`<>]*)/gi

/** `a=1&b&c=2` as `a=***&***&c=***`: the names help a reader, the values may be credentials. */
function redactQuery(query: string): string {
  if (query === '') return query
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      if (equals === -1) return pair === '' || pair === REDACTED ? pair : REDACTED
      return pair.slice(equals + 1) === REDACTED ? pair : `${pair.slice(0, equals)}=${REDACTED}`
    })
    .join('&')
}

// When the whole string is one url, its authority ends only at `/`, `?` or `#`, and its query only at
// `#`: a password or a query value holding a space (which a URL parser would accept, percent-encoded) is
// hidden whole too.
function redactWholeUrl(given: string): string {
  const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(given)
  if (scheme === null) return given
  const start = scheme[0].length
  const authorityEnd = start + given.slice(start).search(/[/?#]|$/)
  const pathEnd = authorityEnd + given.slice(authorityEnd).search(/[?#]|$/)
  const url = `${given.slice(0, authorityEnd)}${redactPath(given.slice(authorityEnd, pathEnd))}${given.slice(pathEnd)}`
  const rest = url.slice(start)
  const authority = rest.slice(0, rest.search(/[/?#]|$/))
  const at = authority.lastIndexOf('@')
  let safe = at === -1 ? url : `${url.slice(0, start)}${REDACTED}${url.slice(start + at)}`
  const question = safe.indexOf('?', at === -1 ? start : start + REDACTED.length)
  if (question !== -1) {
    const hash = safe.indexOf('#', question)
    const end = hash === -1 ? safe.length : hash
    safe = `${safe.slice(0, question + 1)}${redactQuery(safe.slice(question + 1, end))}${safe.slice(end)}`
  }
  const hash = safe.indexOf('#', at === -1 ? start : start + REDACTED.length)
  return hash === -1 || hash === safe.length - 1 ? safe : `${safe.slice(0, hash + 1)}${REDACTED}`
}

/** Strings shorter than this taken from a url or a header are not hidden wherever they appear: `?v=1` would hide every `1`. */
const MIN_SENSITIVE_LENGTH = 4

/**
 * The strings of `config` that must never show in a message: its secrets (with and without `whsec_`), its
 * header values (but `content-type`'s), and its url's user, password, query values, path tokens and fragment. Read from the config as given, before
 * it is checked, so that an invalid config's errors hide them too.
 */
export function sensitiveStringsOf(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return []
  const root = config as Record<string, unknown>
  const found: string[] = []
  const secrets = Array.isArray(root.secret) ? root.secret : [root.secret]
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret === '') continue
    found.push(secret)
    // The key itself, as it may be quoted without its prefix.
    if (secret.startsWith('whsec_')) long(found, secret.slice('whsec_'.length))
  }
  const headerValue = (name: string, value: unknown) => {
    if (name.toLowerCase() !== 'content-type' && typeof value === 'string') long(found, value)
  }
  if (typeof root.headers === 'object' && root.headers !== null)
    for (const [name, value] of Object.entries(root.headers)) headerValue(name, value)
  for (const [key, value] of Object.entries(root))
    if (key.startsWith('headers.')) headerValue(key.slice('headers.'.length), value)
  if (typeof root.url === 'string') for (const part of urlSecrets(root.url)) long(found, part)
  return [...new Set(found)]
}

function long(found: string[], value: string): void {
  if (value.length >= MIN_SENSITIVE_LENGTH) found.push(value)
}

function urlSecrets(url: string): string[] {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return []
  }
  const parts = [parsed.username, parsed.password, decode(parsed.username), decode(parsed.password)]
  for (const segment of parsed.pathname.split('/'))
    if (isPathToken(segment)) parts.push(segment, decode(segment))
  for (const [name, value] of parsed.searchParams) parts.push(value === '' ? name : value)
  // As written too: a message may quote the url's text rather than its decoded values.
  for (const pair of parsed.search.slice(1).split('&')) parts.push(pair.slice(pair.indexOf('=') + 1))
  parts.push(parsed.hash.slice(1), decode(parsed.hash.slice(1)))
  return parts.filter((part) => part !== '')
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** Longest a user's value may be and still be quoted back in an error. */
const MAX_QUOTED_LENGTH = 32
/** Names and words: letters and digits, in words joined by one of ` _-./:`. */
const WORDS = /^[A-Za-z0-9]+(?:[ _\-./:][A-Za-z0-9]+)*$/
const SEPARATORS = /[ _\-./:]/
/** An HTTP authentication scheme followed by its credentials (`Bearer abc.def`), or a signing key's prefix. */
const CREDENTIAL_PREFIX = /^(?:bearer|basic|digest|token|negotiate|apikey)\s|whsec_/i

/**
 * Whether `text`, a value or a name a user gave, may be quoted back in an error message. Errors quote
 * what the user typed so that a typo can be found (`unknown event 'on_mesage_publish'`), but a value in
 * the wrong place may be a credential (a secret pasted as the encoding, a password as `pool_size`, an
 * `Authorization` value as a header's name). So only what is shaped like the words configuration is made
 * of is quoted: short, letters and digits in words, no authentication scheme, and no word that looks
 * generated (a digit followed by a letter, as in `Sup3rS3cret` or hex, or case flipping more than a
 * camelCase name does); and never what is, holds or is part of one of the `sensitive` strings (the
 * config's own secrets, passwords and header values). Anything else is described, not shown.
 */
export function isQuotable(text: string, sensitive: readonly string[] = []): boolean {
  if (text === '') return true
  if (text.length > MAX_QUOTED_LENGTH || !WORDS.test(text) || CREDENTIAL_PREFIX.test(text)) return false
  if (!text.split(SEPARATORS).every(looksWritten)) return false
  return !sensitive.some(
    (secret) =>
      secret.length > 0 &&
      (text.includes(secret) || (text.length >= MIN_SENSITIVE_LENGTH && secret.includes(text))),
  )
}

function looksWritten(word: string): boolean {
  if (/\d[A-Za-z]/.test(word)) return false
  const flips = word.match(/[a-z][A-Z]/g)?.length ?? 0
  return flips <= 3
}

/** `'text'` when it may be quoted (see `isQuotable`), else what it is: `a string of 38 characters`. */
export function quoteGiven(text: string, sensitive: readonly string[] = []): string {
  return isQuotable(text, sensitive) ? `'${text}'` : `a string of ${text.length} characters`
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

/** `text` with url credentials, url query values and every `sensitive` string replaced by `***`. */
export function redact(text: string, sensitive: readonly string[] = []): string {
  let safe = redactUrlsIn(text)
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
