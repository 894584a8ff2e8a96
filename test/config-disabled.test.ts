import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { assertRejected } from './helpers/config.ts'

describe('resolveConfig with enable: false', () => {
  test('needs neither url nor events', () => {
    const resolved = resolveConfig({ enable: false } as unknown as WebhookConfig)
    assert.equal(resolved.enable, false)
    assert.equal(resolved.url, '')
    assert.deepEqual(resolved.rules, new Map())
  })

  test('accepts an empty events list, as a NanoMQ file with enable = false may hold', () => {
    const resolved = resolveConfig({ enable: false, url: 'http://127.0.0.1:1/', events: [] })
    assert.equal(resolved.enable, false)
    assert.deepEqual(resolved.rules, new Map())
  })

  test('still rejects unknown keys and bad types of the keys given', () => {
    assertRejected({ enable: false, pool_sise: 3 }, 'pool_sise', "unknown key, did you mean 'pool_size'?")
    assertRejected({ enable: false, url: 'ftp://x' }, 'url', 'must use http: or https:, not ftp:')
    assertRejected(
      { enable: false, events: [{ event: 'on_nothing' }] },
      'events[0].event',
      "unknown event 'on_nothing'",
    )
    assertRejected({ enable: false, pool_size: 0 }, 'pool_size', 'must be a positive integer, got 0')
    assertRejected(
      { enable: false, tls: { keyfle: 'k.pem' } },
      'tls.keyfle',
      "unknown key, did you mean 'tls.keyfile'?",
    )
  })

  test('does not read tls files, which need not exist on a host that never connects', () => {
    const resolved = resolveConfig({ enable: false, tls: { cacertfile: '/nonexistent/ca.pem' } } as never)
    assert.equal(resolved.tls, undefined)
  })
})
