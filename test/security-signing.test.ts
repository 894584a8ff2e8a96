import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { WebhookConfigError } from '../src/errors.ts'
import { resolveSecrets, signatureHeaders } from '../src/security/signing.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const OTHER_SECRET = `whsec_${randomBytes(32).toString('base64')}`
const BODY = '{"ts":1706703724960,"topic":"a/b","retain":false,"qos":1,"action":"message_publish"}'

function now(): number {
  return Math.floor(Date.now() / 1000)
}

function configError(fn: () => unknown): WebhookConfigError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof WebhookConfigError, `expected WebhookConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a WebhookConfigError')
}

describe('resolveSecrets', () => {
  test('decodes the bytes after whsec_, in order', () => {
    const bytes = randomBytes(24)
    assert.deepEqual(resolveSecrets(`whsec_${bytes.toString('base64')}`), [bytes])
    assert.deepEqual(resolveSecrets([SECRET, OTHER_SECRET]), [
      Buffer.from(SECRET.slice(6), 'base64'),
      Buffer.from(OTHER_SECRET.slice(6), 'base64'),
    ])
  })

  test('no secret means no key', () => {
    assert.deepEqual(resolveSecrets(undefined), [])
  })

  test('accepts a one-byte key and an unpadded one', () => {
    assert.deepEqual(resolveSecrets('whsec_AQ=='), [Buffer.from([1])])
    assert.deepEqual(resolveSecrets('whsec_AQ'), [Buffer.from([1])])
  })

  const cases: Array<[string, unknown, string]> = [
    [
      'a missing prefix',
      'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'secret: must start with "whsec_" followed by the base64 of the key',
    ],
    ['an empty string', '', 'secret: must start with "whsec_" followed by the base64 of the key'],
    ['nothing after the prefix', 'whsec_', 'secret: is empty after "whsec_"'],
    ['characters outside base64', 'whsec_MfKQ9r8G!YqrTwjU', 'secret: is not valid base64 after "whsec_"'],
    ['url-safe base64', 'whsec_MfKQ9r8G_YqrTwjU', 'secret: is not valid base64 after "whsec_"'],
    ['a truncated key', 'whsec_MfKQ9', 'secret: is not valid base64 after "whsec_"'],
    ['padding in the middle', 'whsec_AQ==AQ==', 'secret: is not valid base64 after "whsec_"'],
    ['a number', 42, 'secret: must be a string "whsec_<base64>", got number'],
    ['null', null, 'secret: must be a string "whsec_<base64>", got null'],
    ['an empty array', [], 'secret: must hold at least one secret'],
  ]
  for (const [name, secret, message] of cases) {
    test(`rejects ${name} without echoing it`, () => {
      const error = configError(() => resolveSecrets(secret))
      assert.equal(error.message, message)
      assert.equal(error.key, 'secret')
      if (typeof secret === 'string' && secret.length > 6) {
        assert.ok(!String(error.stack).includes(secret.slice(6)))
      }
    })
  }

  test('names the bad entry of an array, and never echoes it', () => {
    const bad = 'whsec_sUp3r$ecretValue'
    const error = configError(() => resolveSecrets([SECRET, bad]))
    assert.equal(error.key, 'secret[1]')
    assert.equal(error.message, 'secret[1]: is not valid base64 after "whsec_"')
    const everything = `${error.stack} ${JSON.stringify(error)}`
    assert.ok(!everything.includes('sUp3r'))
    assert.ok(!everything.includes(SECRET.slice(6)))
  })

  test('names a non-string entry of an array', () => {
    const error = configError(() => resolveSecrets([SECRET, SECRET, { key: 'x' }]))
    assert.equal(error.message, 'secret[2]: must be a string "whsec_<base64>", got object')
  })
})

describe('signatureHeaders', () => {
  test('the standardwebhooks package verifies the headers and returns the body', () => {
    const headers = signatureHeaders(resolveSecrets(SECRET), 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', now(), BODY)
    assert.deepEqual(Object.keys(headers).sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp'])
    assert.equal(headers['webhook-id'], 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W')
    assert.deepEqual(new Webhook(SECRET).verify(BODY, headers), JSON.parse(BODY))
  })

  test('matches the signature the reference implementation computes', () => {
    const timestamp = 1_706_703_724
    const headers = signatureHeaders(resolveSecrets(SECRET), 'msg_1', timestamp, BODY)
    const reference = new Webhook(SECRET).sign('msg_1', new Date(timestamp * 1000), BODY)
    assert.equal(headers['webhook-signature'], reference)
    assert.equal(headers['webhook-timestamp'], '1706703724')
  })

  test('signs with the raw key bytes, as HMAC-SHA256 of id.timestamp.body', () => {
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64')
    const expected = createHmac('sha256', key).update(`msg_1.1700000000.${BODY}`).digest('base64')
    const headers = signatureHeaders([key], 'msg_1', 1_700_000_000, BODY)
    assert.equal(headers['webhook-signature'], `v1,${expected}`)
  })

  test('two secrets give two signatures, and each secret alone verifies', () => {
    const headers = signatureHeaders(resolveSecrets([SECRET, OTHER_SECRET]), 'msg_rot', now(), BODY)
    const signatures = headers['webhook-signature']?.split(' ') ?? []
    assert.equal(signatures.length, 2)
    for (const signature of signatures) assert.match(signature, /^v1,[A-Za-z0-9+/]{43}=$/)
    assert.deepEqual(new Webhook(SECRET).verify(BODY, headers), JSON.parse(BODY))
    assert.deepEqual(new Webhook(OTHER_SECRET).verify(BODY, headers), JSON.parse(BODY))
  })

  test('a tampered body, id or timestamp fails verification', () => {
    const id = 'msg_t'
    const timestamp = now()
    const headers = signatureHeaders(resolveSecrets(SECRET), id, timestamp, BODY)
    const verifier = new Webhook(SECRET)
    assert.throws(
      () => verifier.verify(BODY.replace('"qos":1', '"qos":2'), headers),
      WebhookVerificationError,
    )
    assert.throws(
      () => verifier.verify(BODY, { ...headers, 'webhook-id': 'msg_u' }),
      WebhookVerificationError,
    )
    assert.throws(
      () => verifier.verify(BODY, { ...headers, 'webhook-timestamp': String(timestamp - 1) }),
      WebhookVerificationError,
    )
    assert.throws(() => new Webhook(OTHER_SECRET).verify(BODY, headers), WebhookVerificationError)
  })

  test('signs the exact bytes, multi-byte characters included', () => {
    const body = '{"payload":"héllo ✓ 😀","topic":"ü/ß"}'
    const headers = signatureHeaders(resolveSecrets(SECRET), 'msg_utf8', now(), body)
    assert.deepEqual(new Webhook(SECRET).verify(Buffer.from(body, 'utf8'), headers), JSON.parse(body))
  })

  test('a fractional timestamp is sent as whole seconds', () => {
    const headers = signatureHeaders(resolveSecrets(SECRET), 'msg_f', 1_700_000_000.9, BODY)
    assert.equal(headers['webhook-timestamp'], '1700000000')
    assert.equal(
      headers['webhook-signature'],
      signatureHeaders(resolveSecrets(SECRET), 'msg_f', 1_700_000_000, BODY)['webhook-signature'],
    )
  })

  test('without a secret, no header', () => {
    assert.deepEqual(signatureHeaders([], 'msg_1', now(), BODY), {})
  })
})
