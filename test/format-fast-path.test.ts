import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  formatRecord,
  readRecord,
  recordable,
  recordBound,
  writeRecord,
} from '../src/delivery/message-record.ts'
import type { HookEvent, QoS } from '../src/events.ts'
import { formatEvent, serializeEvent } from '../src/format.ts'

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state / 2_147_483_648
  }
}

const STRINGS = [
  '',
  'a/b',
  'ü/ß',
  '"quoted" \\ back',
  'line\nfeed\ttab',
  '\u2028\u2029',
  '\ud800 lone',
  '😀',
  '$SYS/x',
  // Past the record's short-string path (64 UTF-16 units).
  `${'long/'.repeat(13)}ü😀\ud800`,
]

test('message bodies written as text equal JSON.stringify(formatEvent()) exactly', () => {
  const next = random(42)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
  const names = ['on_message_publish', 'on_message_delivered', 'on_message_acked'] as const
  for (let n = 0; n < 3000; n++) {
    const event = {
      event: pick(names),
      ts: pick([0, 1_706_703_724_960, 1e21, -0, 1.5, Number.MAX_SAFE_INTEGER]),
      topic: pick(STRINGS),
      qos: pick([0, 1, 2]) as QoS,
      retain: next() < 0.5,
      clientid: pick(STRINGS),
      username: pick([undefined, ...STRINGS]),
      from_client_id: pick([null, ...STRINGS]),
      from_username: pick([undefined, ...STRINGS]),
      payload: Buffer.from(pick(STRINGS)),
    } as HookEvent
    for (const encoding of ['plain', 'base64', 'base62'] as const)
      assert.equal(serializeEvent(event, encoding), JSON.stringify(formatEvent(event, { encoding })))
  }
})

test('a message event sent as its record gets the body the broker thread would have written', () => {
  const next = random(7)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
  const names = ['on_message_publish', 'on_message_delivered', 'on_message_acked'] as const
  for (let n = 0; n < 3000; n++) {
    const name = pick(names)
    const event = {
      event: name,
      ts: pick([0, 1_706_703_724_960, 1e21, -0, 1.5, Number.MAX_SAFE_INTEGER]),
      topic: pick(STRINGS),
      qos: pick([0, 1, 2]) as QoS,
      retain: next() < 0.5,
      ...(name === 'on_message_publish'
        ? {}
        : { clientid: pick(STRINGS), username: pick([undefined, ...STRINGS]) }),
      from_client_id: pick([null, ...STRINGS]),
      from_username: pick([undefined, null, ...STRINGS]),
      payload: Buffer.from(pick(STRINGS)),
    } as HookEvent
    for (const encoding of ['plain', 'base64', 'base62'] as const) {
      assert.ok(recordable(event, encoding))
      // Written at an offset into a bigger block, as in a batch.
      const block = Buffer.alloc(recordBound(event) + 10)
      const length = writeRecord(event, block, 10)
      const record = block.subarray(10, 10 + length)
      assert.equal(formatRecord(record, encoding), serializeEvent(event, encoding))
      assert.deepEqual(readRecord(record).payload, event.payload)
    }
  }
})

test('events a record cannot hold as they are go as text', () => {
  const publish = {
    event: 'on_message_publish',
    topic: 't',
    qos: 0,
    retain: false,
    from_client_id: null,
    payload: Buffer.from('x'),
  }
  assert.ok(recordable(publish as HookEvent, 'plain'))
  for (const odd of [
    { qos: 3 },
    { qos: '1' },
    { ts: Number.NaN },
    { retain: 1 },
    { topic: 7 },
    { from_username: 5 },
  ])
    assert.equal(recordable({ ...publish, ...odd } as HookEvent, 'plain'), false, JSON.stringify(odd))
  // A delivery without its subscriber, a payload that is not bytes, a base62 payload big enough for its own worker.
  assert.equal(
    recordable({ ...publish, event: 'on_message_delivered' } as unknown as HookEvent, 'plain'),
    false,
  )
  assert.equal(recordable({ ...publish, payload: 'x' } as unknown as HookEvent, 'plain'), false)
  assert.equal(recordable({ ...publish, payload: Buffer.alloc(64 * 1024) } as HookEvent, 'base62'), false)
  assert.equal(recordable({ event: 'on_client_connack', clientid: 'c' } as HookEvent, 'plain'), false)
})

test('odd values from a JavaScript caller take the general path and still match formatEvent', () => {
  const odd = [
    { ts: Number.NaN },
    { ts: undefined },
    { qos: '1' },
    { retain: 'yes' },
    { topic: 42 },
    { from_client_id: 7 },
    { from_username: null },
  ]
  for (const override of odd) {
    const event = {
      event: 'on_message_publish',
      ts: 1,
      topic: 't',
      qos: 1,
      retain: false,
      from_client_id: 'c',
      payload: Buffer.from('p'),
      ...override,
    } as unknown as HookEvent
    const body = serializeEvent(event, 'plain') as string
    const expected = JSON.parse(JSON.stringify(formatEvent(event))) as Record<string, unknown>
    // A missing ts is stamped with the time of the call: compare everything else exactly.
    if (override.ts === undefined && 'ts' in override) expected.ts = (JSON.parse(body) as { ts: number }).ts
    assert.deepEqual(JSON.parse(body), expected)
  }
})
