import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { assertRejected } from './helpers/config.ts'

const BASE = { url: 'http://127.0.0.1:9/hook', events: [{ event: 'on_client_connack' }] }

test('batch is off by default, defaults its keys when given, pipelining defaults to 1', () => {
  const plain = resolveConfig(BASE as WebhookConfig)
  assert.equal(plain.batch, undefined)
  assert.equal(plain.pipelining, 1)
  assert.deepEqual(resolveConfig({ ...BASE, batch: {} } as WebhookConfig).batch, {
    maxEvents: 100,
    maxDelayMs: 10,
  })
  const given = resolveConfig({
    ...BASE,
    batch: { max_events: 50, max_delay_ms: 200 },
    pipelining: 4,
  } as WebhookConfig)
  assert.deepEqual([given.batch, given.pipelining], [{ maxEvents: 50, maxDelayMs: 200 }, 4])
})

test('bad batch and pipelining values are refused, naming the key', () => {
  assertRejected({ ...BASE, batch: true }, 'batch', 'must be an object, got boolean')
  assertRejected(
    { ...BASE, batch: { max_events: 0 } },
    'batch.max_events',
    'must be a positive integer, got 0',
  )
  assertRejected(
    { ...BASE, batch: { max_delay_ms: 1.5 } },
    'batch.max_delay_ms',
    'must be a positive integer, got 1.5',
  )
  assertRejected(
    { ...BASE, batch: { max_delay_ms: 2 ** 31 } },
    'batch.max_delay_ms',
    'must be at most 2147483647, got 2147483648',
  )
  assertRejected(
    { ...BASE, batch: { max_event: 5 } },
    'batch.max_event',
    "unknown key, did you mean 'batch.max_events'?",
  )
  assertRejected({ ...BASE, pipelining: 0 }, 'pipelining', 'must be a positive integer, got 0')
})
