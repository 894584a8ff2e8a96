import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import axios from 'axios'
import { describeError, redact, redactUrl } from '../src/security/redact.ts'

describe('redactUrl', () => {
  const cases: Array<[string, string]> = [
    ['https://user:secret@127.0.0.1:1/', 'https://***@127.0.0.1:1/'],
    ['http://token@example.com/hook?x=1#y', 'http://***@example.com/hook?x=***#y'],
    ['https://user:p@ss@host/path', 'https://***@host/path'],
    ['https://127.0.0.1:8443/hook', 'https://127.0.0.1:8443/hook'],
    ['https://host/a@b', 'https://host/a@b'],
    ['HTTPS://USER:PW@HOST', 'HTTPS://***@HOST'],
    ['user:secret@127.0.0.1:1/', '***@127.0.0.1:1/'],
    ['https://user:sec ret@host', 'https://***@host'],
    ['not a url', 'not a url'],
    ['', ''],
    ['contact admin@example.com', 'contact admin@example.com'],
  ]
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(redactUrl(input), expected)
    })
  }

  test('redacts every url inside a message', () => {
    assert.equal(
      redactUrl('POST https://a:b@h1/x failed, then http://c:d@h2:80/ and user:pw@h3 too'),
      'POST https://***@h1/x failed, then http://***@h2:80/ and ***@h3 too',
    )
  })
})

describe('redact', () => {
  test('replaces every sensitive string, longest first', () => {
    assert.equal(
      redact('Bearer abc and abcdef at https://u:p@h/', ['abc', 'abcdef', '']),
      'Bearer *** and *** at https://***@h/',
    )
  })
})

describe('describeError', () => {
  test('keeps the code and a redacted one-line message', () => {
    const error = Object.assign(new Error('connect to https://user:secret@127.0.0.1:1/\nfailed'), {
      code: 'ECONNREFUSED',
    })
    assert.deepEqual(describeError(error), {
      code: 'ECONNREFUSED',
      message: 'connect to https://***@127.0.0.1:1/ failed',
    })
  })

  test('hides the given secrets wherever they appear', () => {
    const error = new Error('rejected header Authorization: Bearer s3cr3t-token')
    assert.deepEqual(describeError(error, ['Bearer s3cr3t-token']), {
      message: 'rejected header Authorization: ***',
    })
  })

  test('takes the code from the cause when the wrapper has none', () => {
    const error = new Error('request failed', {
      cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
    })
    assert.deepEqual(describeError(error), { code: 'ECONNRESET', message: 'request failed' })
  })

  test('keeps the reason of an OpenSSL error string', () => {
    const error = Object.assign(
      new Error(
        '801C4283447F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
      ),
      { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' },
    )
    assert.deepEqual(describeError(error), {
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      message: 'tlsv13 alert certificate required (SSL alert number 116)',
    })
  })

  test('describes thrown non-errors', () => {
    assert.deepEqual(describeError('boom'), { message: 'boom' })
    assert.deepEqual(describeError({ code: 'EX', message: 'm' }), { code: 'EX', message: 'm' })
    assert.deepEqual(describeError(undefined), { message: 'undefined' })
    assert.deepEqual(describeError(Object.assign(new Error(''), { code: 'EPIPE' })), {
      code: 'EPIPE',
      message: 'EPIPE',
    })
  })

  test('an axios error to a url with credentials and a secret header leaks neither', async () => {
    // Nothing listens on port 1 of the loopback (binding it needs root): the connection is refused.
    const error = await axios
      .post(`http://user:secret@127.0.0.1:1/hook`, '{}', {
        headers: { authorization: 'Bearer top-secret-token' },
        proxy: false,
      })
      .then(
        () => assert.fail('expected a network error'),
        (caught: unknown) => caught,
      )
    const description = describeError(error, ['Bearer top-secret-token'])
    assert.equal(description.code, 'ECONNREFUSED')
    const text = JSON.stringify(description)
    assert.ok(!text.includes('user:secret'), text)
    assert.ok(!text.includes('top-secret-token'), text)
  })
})
