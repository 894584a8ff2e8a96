import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { WebhookConfigError } from '../errors.ts'

// Signing stays on node:crypto rather than the standardwebhooks package: the package holds one secret
// per instance and decodes the key on every call, while a request here carries one signature per secret
// (rotation) and runs on the delivery thread's hot path with keys decoded once. The package verifies what
// this signs, in the tests and in `mqtt-webhook receive`.

/** The prefix Standard Webhooks puts before the base64 of a signing key. */
const SECRET_PREFIX = 'whsec_'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Decodes `whsec_...` secrets, in the order given; throws `WebhookConfigError` (key `secret`, or
 * `secret[i]` inside an array) whose message never contains the secret itself.
 */
export function resolveSecrets(secret: unknown): Buffer[] {
  if (secret === undefined) return []
  if (!Array.isArray(secret)) return [decodeSecret(secret, 'secret')]
  if (secret.length === 0) throw new WebhookConfigError('secret', 'must hold at least one secret')
  return secret.map((one, index) => decodeSecret(one, `secret[${index}]`))
}

function decodeSecret(secret: unknown, key: string): Buffer {
  if (typeof secret !== 'string') {
    throw new WebhookConfigError(key, `must be a string "whsec_<base64>", got ${describeType(secret)}`)
  }
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new WebhookConfigError(key, 'must start with "whsec_" followed by the base64 of the key')
  }
  const encoded = secret.slice(SECRET_PREFIX.length)
  if (encoded.length === 0) throw new WebhookConfigError(key, 'is empty after "whsec_"')
  const decoded = Buffer.from(encoded, 'base64')
  // Buffer.from silently skips characters outside the alphabet: re-encoding catches them, and
  // catches a truncated copy-paste (the decoded bytes would not give back the same text).
  if (!BASE64.test(encoded) || decoded.length === 0 || !sameBase64(decoded, encoded)) {
    throw new WebhookConfigError(key, 'is not valid base64 after "whsec_"')
  }
  return decoded
}

function sameBase64(decoded: Buffer, encoded: string): boolean {
  const unpadded = encoded.replace(/=+$/, '')
  return decoded.toString('base64').replace(/=+$/, '') === unpadded
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

// The HMAC key object is built once per secret, not once per attempt.
const keyObjects = new WeakMap<Buffer, KeyObject>()

function keyObjectOf(secret: Buffer): KeyObject {
  let keyObject = keyObjects.get(secret)
  if (keyObject === undefined) {
    keyObject = createSecretKey(secret)
    keyObjects.set(secret, keyObject)
  }
  return keyObject
}

/**
 * Standard Webhooks headers for one attempt: `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature`, one `v1,<base64 HMAC-SHA256>` of `${id}.${timestamp}.${body}` per secret,
 * space-separated. With no secret, returns no header.
 */
export function signatureHeaders(
  secrets: Buffer[],
  id: string,
  timestampSeconds: number,
  body: string | Buffer,
): Record<string, string> {
  if (secrets.length === 0) return {}
  const timestamp = String(Math.floor(timestampSeconds))
  const sign = (secret: Buffer) => {
    const hmac = createHmac('sha256', keyObjectOf(secret))
    // A text body goes in one string with its prefix: each update() re-encodes its string to UTF-8.
    if (typeof body === 'string') hmac.update(`${id}.${timestamp}.${body}`)
    else hmac.update(`${id}.${timestamp}.`).update(body)
    return `v1,${hmac.digest('base64')}`
  }
  let signature = sign(secrets[0] as Buffer)
  for (let index = 1; index < secrets.length; index++) signature += ` ${sign(secrets[index] as Buffer)}`
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }
}
