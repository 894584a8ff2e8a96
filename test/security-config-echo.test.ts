import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { inspect } from 'node:util'
import type { WebhookConfig } from '../src/config-types.ts'
import { WebhookConfigError } from '../src/errors.ts'
import type { MessagePublishEvent } from '../src/events.ts'
import { isQuotable, redact, redactUrl, sensitiveStringsOf } from '../src/security/redact.ts'
import { createWebhook } from '../src/webhook.ts'
import type { FailedReport } from '../src/webhook-types.ts'
import { recordingLogger } from './helpers/logger.ts'
import { startReceiver } from './helpers/receiver.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const PASSWORD = 'hunter22' // word-shaped: only known as a secret because the url holds it
const HEADER_VALUE = 'opensesame' // word-shaped too: a configured header's value
const QUERY_TOKEN = 'qtok5e3cr7' // the url's query value
const BASE = {
  url: `http://alice:${PASSWORD}@127.0.0.1:1/hook?token=${QUERY_TOKEN}`,
  secret: SECRET,
  headers: { 'x-api-key': HEADER_VALUE },
  events: [{ event: 'on_client_connack' }],
}

/** Values shaped like credentials that nothing in the config marks as secret: errors must not quote them either. */
const UNKNOWN_SECRETS = [
  'Sup3rS3cret!',
  'Bearer abc.def.ghi',
  'bearer abc',
  'Basic dXNlcjpwYXNzd29yZA==',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
  'd41d8cd98f00b204e9800998ecf8427e',
  'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  'AKIAIOSFODNN7EXAMPLE',
  'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy',
  'pa55w0rd',
  'MfKQrGKYqrTwjUPDILPZ',
]
/** The config's own secrets, and parts of them. */
const CONFIGURED_SECRETS = [SECRET, SECRET.slice('whsec_'.length), PASSWORD, HEADER_VALUE, QUERY_TOKEN]

/** Every place a string can be put in a config and be rejected, each as a patch of the base config. */
const PLACES: Array<[string, (value: string) => Record<string, unknown>]> = [
  ['body.encoding', (value) => ({ body: { encoding: value } })],
  ["'body.encoding'", (value) => ({ 'body.encoding': value })],
  ['events[0].event', (value) => ({ events: [{ event: value }] })],
  ['events[0].topic', (value) => ({ events: [{ event: 'on_message_publish', topic: `${value}/#/x` }] })],
  ['ordering', (value) => ({ ordering: value })],
  ['enable', (value) => ({ enable: value })],
  ['pool_size', (value) => ({ pool_size: value })],
  ['cancel_timeout', (value) => ({ cancel_timeout: value })],
  ['max_queue', (value) => ({ max_queue: value })],
  ['retry.max_attempts', (value) => ({ retry: { max_attempts: value } })],
  ['a header name', (value) => ({ headers: { ...BASE.headers, [value]: 'x' } })],
  ['a dotted header name', (value) => ({ [`headers.${value}`]: 'x' })],
  ['a header name with a bad value', (value) => ({ headers: { ...BASE.headers, [value]: 42 } })],
  ['an unknown key', (value) => ({ [value]: 1 })],
  ['an unknown key in retry', (value) => ({ retry: { [value]: 1 } })],
  ['an unknown key in a rule', (value) => ({ events: [{ event: 'on_client_connack', [value]: 1 }] })],
  ['tls.verify_peer', (value) => ({ tls: { verify_peer: value } })],
]

/** Where a value is a file's path: shown (a path names a file), but never with the config's secrets. */
const PATHS: Array<[string, (value: string) => Record<string, unknown>]> = [
  ['tls.cacertfile', (value) => ({ tls: { cacertfile: `/nonexistent/${value}` } })],
  ['tls.certfile', (value) => ({ tls: { certfile: `/nonexistent/${value}`, keyfile: '/nonexistent/k' } })],
]

/** A header name of token characters is a valid one: accepted, nothing to show. */
const ACCEPTABLE = new Set(['a header name', 'a dotted header name'])

function configErrorOf(config: Record<string, unknown>): WebhookConfigError {
  try {
    createWebhook(config as unknown as WebhookConfig)
  } catch (error) {
    assert.ok(error instanceof WebhookConfigError, `expected WebhookConfigError, got ${String(error)}`)
    return error
  }
  assert.fail(`accepted ${JSON.stringify(config)}`)
}

function accepted(config: Record<string, unknown>): boolean {
  try {
    void createWebhook(config as unknown as WebhookConfig).close({ timeout_ms: 0 })
    return true
  } catch {
    return false
  }
}

function everythingAbout(error: Error): string {
  return [error.message, String(error.stack), JSON.stringify(error), inspect(error, { depth: 5 })].join('\n')
}

describe('a rejected value that may be a secret is named, not quoted', () => {
  for (const [place, patch] of PLACES) {
    test(place, () => {
      for (const value of [...UNKNOWN_SECRETS, ...CONFIGURED_SECRETS]) {
        const config = { ...BASE, ...patch(value) }
        if (ACCEPTABLE.has(place) && accepted(config)) continue
        const text = everythingAbout(configErrorOf(config))
        for (const hidden of [value, ...CONFIGURED_SECRETS])
          assert.ok(
            !text.includes(hidden),
            `${place} = ${JSON.stringify(value)} shows ${JSON.stringify(hidden)}: ${text}`,
          )
      }
    })
  }

  for (const [place, patch] of PATHS) {
    test(`${place}: the path is shown, but none of the config's secrets in it`, () => {
      for (const value of CONFIGURED_SECRETS) {
        const error = configErrorOf({ ...BASE, ...patch(value) })
        assert.match(error.message, /cannot read \/nonexistent\/\*\*\* \(ENOENT\)/)
        const text = everythingAbout(error)
        for (const hidden of CONFIGURED_SECRETS)
          assert.ok(
            !text.includes(hidden),
            `${place} = ${JSON.stringify(value)} shows ${JSON.stringify(hidden)}: ${text}`,
          )
      }
    })
  }

  test('a topic filter is quoted unless a level may be a credential', () => {
    assert.equal(
      configErrorOf({ ...BASE, events: [{ event: 'on_message_publish', topic: '$SYS/+/#/x' }] }).message,
      "events[0].topic: invalid topic filter: '#' must be the last level (in '$SYS/+/#/x')",
    )
    assert.equal(
      configErrorOf({ ...BASE, events: [{ event: 'on_message_publish', topic: 'a/Sup3rS3cret!/#/x' }] })
        .message,
      "events[0].topic: invalid topic filter: '#' must be the last level (in a filter of 18 characters)",
    )
  })

  test('the given case: a secret in another key, a password as pool_size, a token as a header name', () => {
    const messages = [
      { body: { encoding: SECRET } },
      { events: [{ event: SECRET }] },
      { pool_size: 'Sup3rS3cret!' },
      { headers: { 'Bearer abc.def.ghi': 'x' } },
    ].map((patch) => configErrorOf({ ...BASE, ...patch }).message)
    assert.deepEqual(messages, [
      'body.encoding: unknown encoding a string of 38 characters (expected plain, base64 or base62)',
      'events[0].event: unknown event a string of 38 characters',
      'pool_size: must be a positive integer, got a string of 12 characters',
      'headers: a header name of 18 characters, not shown as it may be a credential, is not a valid HTTP header name',
    ])
  })

  test('a word-shaped value is quoted unless the config holds it as a secret', () => {
    assert.equal(
      configErrorOf({ ...BASE, body: { encoding: 'base32' } }).message,
      "body.encoding: unknown encoding 'base32' (expected plain, base64 or base62)",
    )
    assert.equal(
      configErrorOf({ ...BASE, body: { encoding: PASSWORD } }).message,
      'body.encoding: unknown encoding a string of 8 characters (expected plain, base64 or base62)',
    )
    assert.equal(
      configErrorOf({ ...BASE, ordering: `${HEADER_VALUE}-ish` }).message,
      "ordering: must be 'none' or 'per-client', got a string of 14 characters",
    )
    assert.equal(
      configErrorOf({ ...BASE, [SECRET.slice(6, 20)]: 1 }).message,
      'config: has an unknown key of 14 characters, not shown as it may be a credential',
    )
  })

  test('typos are still quoted, with their suggestions', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ poolSize: 4 }, "poolSize: unknown key, did you mean 'pool_size'?"],
      [{ maxQueue: 4 }, "maxQueue: unknown key, did you mean 'max_queue'?"],
      [
        { events: [{ event: 'on_mesage_publish' }] },
        "events[0].event: unknown event 'on_mesage_publish', did you mean 'on_message_publish'?",
      ],
      [{ pool_size: '32' }, "pool_size: must be a positive integer, got '32'"],
      [{ enable: 'no' }, "enable: must be true or false, got 'no'"],
      [{ headers: { 'x-token': 42 } }, 'headers.x-token: must be a string, got number'],
      [{ headers: { 'X-B3-TraceId': 42 } }, 'headers.X-B3-TraceId: must be a string, got number'],
    ]
    for (const [patch, message] of cases) assert.equal(configErrorOf({ ...BASE, ...patch }).message, message)
  })
})

describe('isQuotable', () => {
  const quotable = [
    'banana',
    'base32',
    'BASE64',
    'on_mesage_publish',
    'poolSize',
    'maxQueueBytes',
    'x-api-key',
    'bad name',
    '32',
    '1.5',
    'a/b',
    '',
  ]
  for (const text of quotable)
    test(`${JSON.stringify(text)} may be quoted`, () => assert.equal(isQuotable(text), true))
  for (const text of UNKNOWN_SECRETS)
    test(`${JSON.stringify(text)} is not quoted`, () => assert.equal(isQuotable(text), false))
  test('what is, holds or is part of a sensitive string is not quoted', () => {
    assert.equal(isQuotable('hunter22', ['hunter22']), false)
    assert.equal(isQuotable('my hunter22', ['hunter22']), false)
    assert.equal(isQuotable('hunt', ['hunter22']), false)
    assert.equal(isQuotable('hun', ['hunter22']), true, 'too short to tell anything')
  })
})

describe('url query values', () => {
  test('redactUrl hides every query value, keeping the names', () => {
    const cases: Array<[string, string]> = [
      ['https://h.example/hook?token=abc123&v=2', 'https://h.example/hook?token=***&v=***'],
      ['https://u:p@h/hook?token=abc#frag', 'https://***@h/hook?token=***#***'],
      ['https://h/hook?abc123', 'https://h/hook?***'],
      ['https://h/hook?token=a b c', 'https://h/hook?token=***'],
      ['https://h/hook?', 'https://h/hook?'],
      ['https://h/hook', 'https://h/hook'],
    ]
    for (const [url, expected] of cases) assert.equal(redactUrl(url), expected)
  })

  test('redact hides query values of urls inside a message, and nothing after them', () => {
    assert.equal(
      redact("POST 'http://127.0.0.1:1/hook?token=abc&x=1' failed: see https://docs.example/x?y=2 for more"),
      "POST 'http://127.0.0.1:1/hook?token=***&x=***' failed: see https://docs.example/x?y=*** for more",
    )
  })

  test("the config's secrets: secrets, header values but content-type, url user, password, query values, fragment", () => {
    assert.deepEqual(
      sensitiveStringsOf({
        url: 'https://al%40ice:p%40ss@h/x?token=tok%2Fen&flag&v=1#frag%2Fment',
        secret: [SECRET, 7],
        headers: { 'content-type': 'text/plain', authorization: 'Bearer xyz', 'x-short': 'ab' },
        'headers.x-other': 'dotted-value',
      }).sort(),
      [
        SECRET,
        SECRET.slice('whsec_'.length),
        'Bearer xyz',
        'dotted-value',
        'al%40ice',
        'al@ice',
        'p%40ss',
        'p@ss',
        'tok/en',
        'tok%2Fen',
        'flag',
        'frag%2Fment',
        'frag/ment',
      ].sort(),
    )
  })
})

const PUBLISH: MessagePublishEvent = {
  event: 'on_message_publish',
  ts: 1706703724960,
  topic: 'a/b',
  retain: false,
  qos: 0,
  from_username: 'u1',
  from_client_id: 'c1',
  payload: Buffer.from('hello'),
}

describe('a token in the url query', () => {
  for (const [name, answer] of [
    ['a refused connection', undefined],
    ['an HTTP 403', 403],
  ] as const) {
    test(`${name}: never in failed reports, logs, warnings or stats`, async (t) => {
      const receiver = answer === undefined ? undefined : await startReceiver({ reply: () => answer })
      if (receiver !== undefined) t.after(() => receiver.close())
      const base = receiver?.url ?? 'http://127.0.0.1:1/hook'
      const url = `${base}?token=${QUERY_TOKEN}&tenant=acme-corp-7`
      const { lines, ...logger } = recordingLogger()
      const hook = createWebhook(
        {
          url,
          events: [{ event: 'on_message_publish' }],
          retry: { max_attempts: 1 },
          tls: { verify_peer: false },
        },
        { logger },
      )
      t.after(() => hook.close({ timeout_ms: 1000 }))
      const failed = new Promise<FailedReport>((resolve) => hook.once('failed', resolve))
      hook.handle(PUBLISH)
      const report = await failed
      assert.match(
        report.message,
        new RegExp(
          `^POST ${base.replace(/[.?]/g, '\\$&')}\\?token=\\*\\*\\*&tenant=\\*\\*\\* failed after 1 attempt: `,
        ),
      )
      const shown = [
        JSON.stringify(report),
        inspect(report, { depth: 5 }),
        inspect(lines, { depth: 10 }),
        JSON.stringify(hook.stats()),
      ].join('\n')
      for (const hidden of [QUERY_TOKEN, 'acme-corp-7'])
        assert.ok(!shown.includes(hidden), `${hidden} shows: ${shown}`)
      assert.ok(
        lines.some((line) => line.msg === report.message),
        'the failure was logged (debug)',
      )
      if (receiver !== undefined)
        assert.equal(receiver.requests[0]?.path, `/hook?token=${QUERY_TOKEN}&tenant=acme-corp-7`)
    })
  }
})
