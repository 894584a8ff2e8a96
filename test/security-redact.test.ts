import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { inspect } from 'node:util'
import axios from 'axios'
import { describeError, redact, redactUrl, sensitiveStringsOf } from '../src/security/redact.ts'
import { createWebhook } from '../src/webhook.ts'
import type { FailedReport } from '../src/webhook-types.ts'
import { recordingLogger } from './helpers/logger.ts'
import { startReceiver } from './helpers/receiver.ts'

describe('redactUrl', () => {
  const cases: Array<[string, string]> = [
    ['https://user:secret@127.0.0.1:1/', 'https://***@127.0.0.1:1/'],
    ['http://token@example.com/hook?x=1#y', 'http://***@example.com/hook?x=***#***'],
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

describe('the url fragment', () => {
  // Never sent, so nothing a reader needs: some keep a token there.
  const cases: Array<[string, string]> = [
    ['https://hooks.example/in#fragSecret99', 'https://hooks.example/in#***'],
    [
      'http://user:pw@127.0.0.1:1/hook?token=t0k3n&x=1#frag',
      'http://***@127.0.0.1:1/hook?token=***&x=***#***',
    ],
    ['POST http://127.0.0.1/h#frag failed: refused', 'POST http://127.0.0.1/h#*** failed: refused'],
    ['POST http://127.0.0.1/h#s3cr3t-token: ECONNREFUSED', 'POST http://127.0.0.1/h#***: ECONNREFUSED'],
    ['see http://127.0.0.1/h#a.b.c.', 'see http://127.0.0.1/h#***.'],
    ['http://127.0.0.1/h#', 'http://127.0.0.1/h#'],
  ]
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(redactUrl(input), expected))
  }
})

describe('tokens in the url path', () => {
  const TOKEN = 'aB3dE5gH7jK9mN1pQ3sT5vW7'
  const cases: Array<[string, string]> = [
    [
      `https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/${TOKEN}`,
      'https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/***',
    ],
    [
      'https://discord.com/api/webhooks/123456789012345678/AbCdEf_gh-IjKlMnOpQrStUvWxYz0123456789abcdEFGH',
      'https://discord.com/api/webhooks/123456789012345678/***',
    ],
    [
      'https://api.telegram.org/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/sendMessage',
      'https://api.telegram.org/***/sendMessage',
    ],
    [
      'https://hooks.example/catch/3f2a9c1e-7b4d-4e8a-9c1f-0a1b2c3d4e5f/?v=1',
      'https://hooks.example/catch/***/?v=***',
    ],
    ['https://hooks.example/in/abcdefghijklmnopqrstuvwxyz', 'https://hooks.example/in/***'],
    // Names, however long, and numbers stay: a reader tells urls apart by them.
    [
      'https://example.com/api/v1/organizations/acme-industries/incoming-webhooks',
      'https://example.com/api/v1/organizations/acme-industries/incoming-webhooks',
    ],
    ['https://example.com/mqtt/webhookReceiverEndpoint', 'https://example.com/mqtt/webhookReceiverEndpoint'],
    ['http://127.0.0.1:8080/hook/1234567890123456789', 'http://127.0.0.1:8080/hook/1234567890123456789'],
  ]
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(redactUrl(input), expected))
  }

  test('inside a message, with credentials and query values', () => {
    assert.equal(
      redact(`POST https://u:p@h/services/T1/B1/${TOKEN}?x=1 failed; see https://docs.example/limits`),
      'POST https://***@h/services/T1/B1/***?x=*** failed; see https://docs.example/limits',
    )
  })

  test("are among the config's secrets, so that a message quoting one alone hides it", () => {
    const url = `https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/${TOKEN}`
    assert.deepEqual(sensitiveStringsOf({ url }), [TOKEN])
    assert.equal(redact(`token ${TOKEN} revoked`, sensitiveStringsOf({ url })), 'token *** revoked')
  })

  test('never in failed reports, logs or stats; the request goes to the real path', async (t) => {
    const receiver = await startReceiver({ reply: () => 403 })
    t.after(() => receiver.close())
    const path = `/services/T024BE7LD/B01ABCDEF12/${TOKEN}`
    const { lines, ...logger } = recordingLogger()
    const hook = createWebhook(
      { url: `http://127.0.0.1:${receiver.port}${path}`, events: [{ event: 'on_client_connack' }] },
      { logger },
    )
    t.after(() => hook.close({ timeout_ms: 1000 }))
    const failed = new Promise<FailedReport>((resolve) => hook.once('failed', resolve))
    hook.handle({
      event: 'on_client_connack',
      clientid: 'c1',
      proto_ver: 4,
      keepalive: 60,
      conn_ack: 'success',
    })
    const report = await failed
    assert.equal(
      report.message.startsWith(
        `POST http://127.0.0.1:${receiver.port}/services/T024BE7LD/B01ABCDEF12/*** failed after 1 attempt: `,
      ),
      true,
      report.message,
    )
    const shown = [JSON.stringify(report), inspect(lines, { depth: 10 }), JSON.stringify(hook.stats())].join(
      '\n',
    )
    assert.equal(shown.includes(TOKEN), false, shown)
    assert.equal(receiver.requests[0]?.path, path)
  })
})
