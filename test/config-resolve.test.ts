import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import type { WebhookConfig } from '../src/config-types.ts'

const URL_OK = 'http://127.0.0.1:8080/hook?tenant=7'

describe('resolveConfig', () => {
  test('fills in every default', () => {
    const resolved = resolveConfig({ url: URL_OK, events: [{ event: 'on_client_connack' }] })
    assert.deepEqual(resolved, {
      url: URL_OK,
      headers: { 'content-type': 'application/json' },
      encoding: 'plain',
      poolSize: 32,
      cancelTimeout: 5000,
      rules: new Map([['on_client_connack', []]]),
      retry: { maxAttempts: 3, baseDelay: 100, maxDelay: 30_000 },
      maxQueue: 100_000,
      maxQueueBytes: 24 * 2 ** 20,
      ordering: 'none',
      queue: { store: 'memory' },
      secrets: [],
      enable: true,
      pipelining: 1,
    })
  })

  test('takes every key given', () => {
    const resolved = resolveConfig({
      url: 'https://127.0.0.1:8443/h',
      headers: { Authorization: 'Bearer t' },
      body: { encoding: 'base64' },
      pool_size: 4,
      cancel_timeout: 250,
      events: [{ event: 'on_message_publish', topic: 'a/#' }],
      retry: { max_attempts: 5, base_delay: 10, max_delay: 1000 },
      max_queue: 10,
      max_queue_bytes: 1_000_000,
      ordering: 'per-client',
      queue: {
        store: 'sqlite',
        path: '/tmp/q.db',
        commit: 'event',
        synchronous: 'full',
        max_dead_letters: 5,
      },
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      enable: true,
      batch: { max_events: 20, max_delay_ms: 50 },
      pipelining: 2,
    })
    assert.deepEqual(
      { ...resolved, secrets: resolved.secrets.map((key) => key.toString('base64')) },
      {
        url: 'https://127.0.0.1:8443/h',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        encoding: 'base64',
        poolSize: 4,
        cancelTimeout: 250,
        rules: new Map([['on_message_publish', ['a/#']]]),
        retry: { maxAttempts: 5, baseDelay: 10, maxDelay: 1000 },
        maxQueue: 10,
        maxQueueBytes: 1_000_000,
        ordering: 'per-client',
        queue: {
          store: 'sqlite',
          path: '/tmp/q.db',
          commit: 'event',
          synchronous: 'full',
          maxDeadLetters: 5,
        },
        batch: { maxEvents: 20, maxDelayMs: 50 },
        pipelining: 2,
        secrets: ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
        enable: true,
      },
    )
  })

  test('merges user headers over the default case-insensitively, names lower-cased', () => {
    const resolved = resolveConfig({
      url: URL_OK,
      events: [{ event: 'on_client_connack' }],
      headers: { 'Content-Type': 'application/vnd.hook+json', 'X-Token': 'abc' },
    })
    assert.deepEqual(resolved.headers, { 'content-type': 'application/vnd.hook+json', 'x-token': 'abc' })
  })

  test('keeps a header whose name is also an Object.prototype key', () => {
    const headers = JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, string>
    const resolved = resolveConfig({ url: URL_OK, events: [{ event: 'on_client_connack' }], headers })
    assert.deepEqual(Object.entries(resolved.headers), [
      ['content-type', 'application/json'],
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ])
  })

  test("accepts NanoMQ's dotted spellings of headers and body.encoding", () => {
    const resolved = resolveConfig({
      url: URL_OK,
      events: [{ event: 'on_client_connack' }],
      'headers.content-type': 'text/plain',
      'headers.X-Tenant': 't1',
      'body.encoding': 'base62',
    })
    assert.deepEqual(resolved.headers, { 'content-type': 'text/plain', 'x-tenant': 't1' })
    assert.equal(resolved.encoding, 'base62')
  })

  test('reads the encoding case-insensitively', () => {
    for (const [given, expected] of [
      ['PLAIN', 'plain'],
      ['Base64', 'base64'],
      ['BASE62', 'base62'],
    ] as const) {
      const config = { url: URL_OK, events: [{ event: 'on_client_connack' }], body: { encoding: given } }
      assert.equal(resolveConfig(config as WebhookConfig).encoding, expected)
    }
  })

  test('the same encoding given in both spellings is accepted', () => {
    const config = { url: URL_OK, events: [{ event: 'on_client_connack' }], body: { encoding: 'base64' } }
    assert.equal(resolveConfig({ ...config, 'body.encoding': 'base64' } as WebhookConfig).encoding, 'base64')
  })

  test('accumulates the filters of several rules for one event, once each, in order', () => {
    const resolved = resolveConfig({
      url: URL_OK,
      events: [
        { event: 'on_message_publish', topic: 'a/#' },
        { event: 'on_client_connack' },
        { event: 'on_message_publish', topic: 'b/+' },
        { event: 'on_message_publish', topic: 'a/#' },
        { event: 'on_message_delivered', topic: 'c' },
      ],
    })
    assert.deepEqual(
      resolved.rules,
      new Map<string, string[]>([
        ['on_message_publish', ['a/#', 'b/+']],
        ['on_client_connack', []],
        ['on_message_delivered', ['c']],
      ]),
    )
  })

  test('a rule without topic makes its event fire for every topic', () => {
    const resolved = resolveConfig({
      url: URL_OK,
      events: [
        { event: 'on_message_publish', topic: 'a/#' },
        { event: 'on_message_publish' },
        { event: 'on_message_publish', topic: 'b' },
      ],
    })
    assert.deepEqual(resolved.rules, new Map([['on_message_publish', []]]))
  })

  test('keeps the url as given, path and query included', () => {
    assert.equal(resolveConfig({ url: URL_OK, events: [{ event: 'on_client_connack' }] }).url, URL_OK)
  })

  test("hands ssl to resolveTls under its own name and keeps verify_peer's answer", () => {
    const resolved = resolveConfig({
      url: 'https://127.0.0.1:8443/',
      events: [{ event: 'on_client_connack' }],
      ssl: { verify_peer: false, server_name_indication: 'hooks.example' },
    })
    assert.equal(resolved.tls?.rejectUnauthorized, false)
    assert.equal(resolved.tls?.servername, 'hooks.example')
  })

  test('does not change the config it was given', () => {
    const config = {
      url: URL_OK,
      headers: { 'X-A': '1' },
      events: [
        { event: 'on_message_publish' as const, topic: 'a' },
        { event: 'on_message_publish' as const },
      ],
    }
    const copy = structuredClone(config)
    resolveConfig(config)
    assert.deepEqual(config, copy)
  })
})
