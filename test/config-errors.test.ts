import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { WebhookConfigError } from '../src/errors.ts'
import { assertRejected } from './helpers/config.ts'

const URL_OK = 'http://127.0.0.1:8080/hook'
const EVENTS_OK = [{ event: 'on_message_publish' }]

/** A valid config with `patch` applied; `undefined` values delete the key. */
function configWith(patch: Record<string, unknown>): WebhookConfig {
  const config: Record<string, unknown> = { url: URL_OK, events: EVENTS_OK, ...patch }
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete config[key]
  return config as unknown as WebhookConfig
}

describe('resolveConfig rejects', () => {
  test('a config that is not an object', () => {
    assertRejected(undefined, 'config', 'must be an object, got undefined')
    assertRejected('http://x', 'config', 'must be an object, got string')
    assertRejected([], 'config', 'must be an object, got an array')
  })

  test('a missing url', () => assertRejected(configWith({ url: undefined }), 'url', 'is required'))
  test('a url that is not a string', () =>
    assertRejected(configWith({ url: 80 }), 'url', 'must be a string, got number'))
  test('a url that does not parse', () =>
    assertRejected(configWith({ url: 'localhost' }), 'url', 'is not a valid absolute URL'))
  test('a url that is not http(s)', () => {
    assertRejected(configWith({ url: 'ftp://127.0.0.1/x' }), 'url', 'must use http: or https:, not ftp:')
    assertRejected(configWith({ url: 'mqtt://127.0.0.1' }), 'url', 'must use http: or https:, not mqtt:')
  })

  test('a bad url without echoing its credentials', () => {
    for (const url of ['ftp://admin:hunter2@127.0.0.1/x', 'http//admin:hunter2@127.0.0.1']) {
      assert.throws(
        () => resolveConfig(configWith({ url })),
        (error: Error) => !error.message.includes('hunter2') && !error.message.includes('admin'),
      )
    }
  })

  test('an unknown event, suggesting the closest name', () => {
    const events = [
      { event: 'on_client_connack' },
      { event: 'on_client_connected' },
      { event: 'on_mesage_publish' },
    ]
    assertRejected(
      configWith({ events }),
      'events[2].event',
      "unknown event 'on_mesage_publish', did you mean 'on_message_publish'?",
    )
    assertRejected(
      configWith({ events: [{ event: 'message_publish' }] }),
      'events[0].event',
      "unknown event 'message_publish', did you mean 'on_message_publish'?",
    )
    assertRejected(
      configWith({ events: [{ event: 'on_client_disconnect' }] }),
      'events[0].event',
      "unknown event 'on_client_disconnect', did you mean 'on_client_disconnected'?",
    )
  })

  test('an unknown event far from every name, without a suggestion', () => {
    assertRejected(configWith({ events: [{ event: 'banana' }] }), 'events[0].event', "unknown event 'banana'")
  })

  test('a rule without event, or with a non-string event', () => {
    assertRejected(configWith({ events: [{ topic: 'a' }] }), 'events[0].event', 'is required')
    assertRejected(configWith({ events: [{ event: 3 }] }), 'events[0].event', 'must be a string, got number')
  })

  test('events that are missing, not an array, empty, or hold a non-object', () => {
    assertRejected(
      configWith({ events: undefined }),
      'events',
      'is required (a non-empty array of { event, topic? })',
    )
    assertRejected(
      configWith({ events: { event: 'on_message_publish' } }),
      'events',
      'must be an array, got object',
    )
    assertRejected(configWith({ events: 'on_message_publish' }), 'events', 'must be an array, got string')
    assertRejected(configWith({ events: [] }), 'events', 'must list at least one event')
    assertRejected(
      configWith({ events: ['on_message_publish'] }),
      'events[0]',
      'must be an object, got string',
    )
    assertRejected(configWith({ events: [null] }), 'events[0]', 'must be an object, got null')
  })

  test('an unknown encoding, in either spelling', () => {
    const reason = "unknown encoding 'base32' (expected plain, base64 or base62)"
    assertRejected(configWith({ body: { encoding: 'base32' } }), 'body.encoding', reason)
    assertRejected(configWith({ 'body.encoding': 'base32' }), 'body.encoding', reason)
    assertRejected(configWith({ 'body.encoding': 62 }), 'body.encoding', 'must be a string, got number')
    assertRejected(
      configWith({ 'body.encoding': 'base64', body: { encoding: 'plain' } }),
      'body.encoding',
      'is given twice (as body.encoding and in body) with different values',
    )
  })

  const numberKeys: Array<[string, (value: unknown) => Record<string, unknown>]> = [
    ['pool_size', (value) => ({ pool_size: value })],
    ['cancel_timeout', (value) => ({ cancel_timeout: value })],
    ['max_queue', (value) => ({ max_queue: value })],
    ['retry.max_attempts', (value) => ({ retry: { max_attempts: value } })],
    ['retry.base_delay', (value) => ({ retry: { base_delay: value } })],
    ['retry.max_delay', (value) => ({ retry: { max_delay: value } })],
  ]
  for (const [key, patch] of numberKeys) {
    test(`a ${key} that is not a positive integer`, () => {
      assertRejected(configWith(patch(0)), key, 'must be a positive integer, got 0')
      assertRejected(configWith(patch(-5)), key, 'must be a positive integer, got -5')
      assertRejected(configWith(patch(1.5)), key, 'must be a positive integer, got 1.5')
      assertRejected(configWith(patch(Number.NaN)), key, 'must be a positive integer, got NaN')
      assertRejected(
        configWith(patch(Number.POSITIVE_INFINITY)),
        key,
        'must be a positive integer, got Infinity',
      )
      assertRejected(configWith(patch('32')), key, "must be a positive integer, got '32'")
      assertRejected(configWith(patch(null)), key, 'must be a positive integer, got null')
    })
  }

  test('delays past what a Node timer can wait', () => {
    for (const [key, patch] of numberKeys.filter(([name]) => /timeout|delay/.test(name))) {
      assertRejected(configWith(patch(2 ** 31)), key, `must be at most 2147483647, got ${2 ** 31}`)
    }
  })

  const badFilters: Array<[string, string]> = [
    ['a/#/b', "'#' must be the last level (in 'a/#/b')"],
    ['a+', "'+' must occupy a whole level (in 'a+')"],
    ['#a', "'#' must occupy a whole level (in '#a')"],
    ['', 'must not be empty'],
    ['a\u0000', 'must not contain a NUL character'],
  ]
  for (const [topic, problem] of badFilters) {
    test(`the invalid topic filter ${JSON.stringify(topic)}`, () => {
      const events = [
        { event: 'on_message_publish', topic: 'ok/#' },
        { event: 'on_message_delivered', topic },
      ]
      assertRejected(configWith({ events }), 'events[1].topic', `invalid topic filter: ${problem}`)
    })
  }

  test('a topic that is not a string', () => {
    assertRejected(
      configWith({ events: [{ event: 'on_message_publish', topic: 7 }] }),
      'events[0].topic',
      'invalid topic filter: must be a string, got number',
    )
  })

  test('a topic on an event that has no topic', () => {
    for (const event of [
      'on_client_connect',
      'on_client_connack',
      'on_client_connected',
      'on_session_terminated',
    ]) {
      assertRejected(
        configWith({ events: [{ event, topic: 'a/#' }] }),
        'events[0].topic',
        `${event} has no topic, so its rule cannot filter on one`,
      )
    }
  })

  test('an unknown key at every level, suggesting the closest', () => {
    assertRejected(configWith({ poolsize: 4 }), 'poolsize', "unknown key, did you mean 'pool_size'?")
    assertRejected(configWith({ evnts: [] }), 'evnts', "unknown key, did you mean 'events'?")
    assertRejected(
      configWith({ 'body.encodng': 'plain' }),
      'body.encodng',
      "unknown key, did you mean 'body.encoding'?",
    )
    assertRejected(configWith({ colour: 'blue' }), 'colour', 'unknown key')
    assertRejected(
      configWith({ body: { encodng: 'plain' } }),
      'body.encodng',
      "unknown key, did you mean 'body.encoding'?",
    )
    assertRejected(
      configWith({ retry: { max_attempt: 2 } }),
      'retry.max_attempt',
      "unknown key, did you mean 'retry.max_attempts'?",
    )
    assertRejected(
      configWith({ events: [{ event: 'on_message_publish', topics: 'a' }] }),
      'events[0].topics',
      "unknown key, did you mean 'events[0].topic'?",
    )
    assertRejected(
      configWith({ tls: { verify: false } }),
      'tls.verify',
      "unknown key, did you mean 'tls.verify_peer'?",
    )
    assertRejected(
      configWith({ ssl: { cacert: 'x' } }),
      'ssl.cacert',
      "unknown key, did you mean 'ssl.cacertfile'?",
    )
  })

  test('headers that are not an object of valid strings', () => {
    assertRejected(configWith({ headers: 'x' }), 'headers', 'must be an object, got string')
    assertRejected(
      configWith({ headers: { 'x-token': 42 } }),
      'headers.x-token',
      'must be a string, got number',
    )
    assertRejected(
      configWith({ 'headers.x-token': true }),
      'headers.x-token',
      'must be a string, got boolean',
    )
    const badValue = 'must hold only visible ASCII, spaces, tabs and Latin-1 characters'
    assertRejected(configWith({ headers: { 'x-a': 'ok\r\nx-b: injected' } }), 'headers.x-a', badValue)
    assertRejected(configWith({ headers: { 'x-a': 'ok\u0001' } }), 'headers.x-a', badValue)
    assertRejected(
      configWith({ headers: { authorization: 'Bearer \u2603x' } }),
      'headers.authorization',
      badValue,
    )
    // Latin-1 (obs-text) and tabs are valid field values.
    assert.doesNotThrow(() => resolveConfig(configWith({ headers: { 'x-a': 'caf\u00e9\tok' } })))
    for (const name of [
      'content-length',
      'Transfer-Encoding',
      'upgrade',
      'expect',
      'connection',
      'keep-alive',
    ]) {
      assertRejected(
        configWith({ headers: { [name]: '5' } }),
        `headers.${name}`,
        'is written by the transport for each request; it cannot be configured',
      )
    }
    assertRejected(
      configWith({ headers: { 'bad name': 'v' } }),
      'headers.bad name',
      'is not a valid HTTP header name',
    )
    assertRejected(configWith({ 'headers.': 'v' }), 'headers.', 'is not a valid HTTP header name')
  })

  test('an ordering other than none or per-client', () => {
    assertRejected(configWith({ ordering: 'fifo' }), 'ordering', "must be 'none' or 'per-client', got 'fifo'")
    assertRejected(configWith({ ordering: true }), 'ordering', "must be 'none' or 'per-client', got true")
  })

  test('an enable that is not a boolean', () => {
    assertRejected(configWith({ enable: 'false' }), 'enable', "must be true or false, got 'false'")
    assertRejected(configWith({ enable: 0 }), 'enable', 'must be true or false, got 0')
  })

  test('tls and ssl together', () => {
    assertRejected(
      configWith({ tls: {}, ssl: {} }),
      'ssl',
      "'ssl' is an alias of 'tls': give one of them, not both",
    )
  })

  test('a tls block of the wrong shape, under the name it was given', () => {
    assertRejected(configWith({ tls: 'on' }), 'tls', 'must be an object, got string')
    assertRejected(
      configWith({ ssl: { verify_peer: 'no' } }),
      'ssl.verify_peer',
      "must be true or false, got 'no'",
    )
    assertRejected(configWith({ tls: { cacertfile: 1 } }), 'tls.cacertfile', 'must be a string, got number')
  })

  test('a tls file that cannot be read (checked by resolveTls, named under the alias)', () => {
    assert.throws(
      () =>
        resolveConfig(configWith({ url: 'https://127.0.0.1/', ssl: { cacertfile: '/nonexistent/ca.pem' } })),
      (error: unknown) => error instanceof WebhookConfigError && error.key === 'ssl.cacertfile',
    )
  })

  test('a bad secret (checked by resolveSecrets), without echoing it', () => {
    assert.throws(
      () => resolveConfig(configWith({ secret: 'not-a-whsec-secret-value' })),
      (error: unknown) =>
        error instanceof WebhookConfigError &&
        error.key.startsWith('secret') &&
        !error.message.includes('not-a-whsec-secret-value'),
    )
  })

  test('a bad value is not echoed whole when it is long', () => {
    const long = 'x'.repeat(200)
    assertRejected(
      configWith({ ordering: long }),
      'ordering',
      "must be 'none' or 'per-client', got a string of 200 characters",
    )
  })
})
