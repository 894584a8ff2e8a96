import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { PayloadEncoding } from '../src/config-types.ts'
import type { HookEvent, MessagePublishEvent } from '../src/events.ts'
import { formatEvent, serializeEvent } from '../src/format.ts'

const ENCODINGS: PayloadEncoding[] = ['plain', 'base64', 'base62']

function published(payload: Uint8Array): MessagePublishEvent {
  return {
    event: 'on_message_publish',
    ts: 1,
    topic: 't',
    qos: 0,
    retain: false,
    from_client_id: 'c',
    payload,
  }
}

function payloadOf(payload: Uint8Array, encoding: PayloadEncoding): unknown {
  return formatEvent(published(payload), { encoding }).payload
}

describe('payload encodings', () => {
  test('an empty payload is "" in every encoding', () => {
    for (const encoding of ENCODINGS) assert.equal(payloadOf(new Uint8Array(0), encoding), '', encoding)
  })

  test('plain is the UTF-8 text, not cut at a NUL byte', () => {
    assert.equal(payloadOf(Buffer.from('ab\u0000cd'), 'plain'), 'ab\u0000cd')
    assert.equal(payloadOf(Buffer.from('grüße ✓ 𝄞'), 'plain'), 'grüße ✓ 𝄞')
  })

  test('plain turns invalid UTF-8 into U+FFFD', () => {
    assert.equal(payloadOf(Buffer.from([0xff, 0xfe]), 'plain'), '\uFFFD\uFFFD')
    assert.equal(payloadOf(Buffer.from([0x61, 0xc3]), 'plain'), 'a\uFFFD')
    assert.equal(payloadOf(Buffer.from([0xed, 0xa0, 0x80, 0x62]), 'plain'), '\uFFFD\uFFFD\uFFFDb')
  })

  test('JSON-special characters of a plain payload survive the body', () => {
    const text = 'q"b\\n\n\t\u0001</script>'
    const body = serializeEvent(published(Buffer.from(text)), 'plain') as string
    assert.equal(JSON.parse(body).payload, text)
  })

  test('base64 is RFC 4648 with padding', () => {
    assert.equal(payloadOf(Buffer.from('f'), 'base64'), 'Zg==')
    assert.equal(payloadOf(Buffer.from('fo'), 'base64'), 'Zm8=')
    assert.equal(payloadOf(Buffer.from('foo'), 'base64'), 'Zm9v')
    assert.equal(payloadOf(Buffer.from([0xfb, 0xff]), 'base64'), '+/8=')
  })

  test("base62 is NanoMQ's: messagei+/ -> 2a7oZkl5ty6sG7", () => {
    assert.equal(payloadOf(Buffer.from('messagei+/'), 'base62'), '2a7oZkl5ty6sG7')
  })

  test('only the bytes of a view are encoded, not the rest of its buffer', () => {
    const whole = Buffer.from('xxxxhello worldyyyy')
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 4, 11)
    assert.equal(payloadOf(view, 'plain'), 'hello world')
    assert.equal(payloadOf(view, 'base64'), Buffer.from('hello world').toString('base64'))
    const long = Buffer.concat([
      Buffer.alloc(50, 1),
      Buffer.from([0, 0, 7]),
      Buffer.alloc(200, 9),
      Buffer.alloc(50, 1),
    ])
    const middle = long.subarray(50, 253)
    assert.equal(payloadOf(middle, 'base62'), payloadOf(Buffer.from(middle), 'base62'))
    assert.ok((payloadOf(middle, 'base62') as string).startsWith('00'))
  })

  test('a string payload from a JavaScript caller is taken as its UTF-8 bytes, a missing one as empty', () => {
    const withString = published('héllo' as unknown as Uint8Array)
    assert.equal(
      formatEvent(withString, { encoding: 'base64' }).payload,
      Buffer.from('héllo').toString('base64'),
    )
    const without = published(undefined as unknown as Uint8Array)
    for (const encoding of ENCODINGS) assert.equal(formatEvent(without, { encoding }).payload, '')
  })

  test('an event name that is not one of the twelve throws a TypeError naming it', () => {
    for (const name of ['on_nothing', 'toString', 'constructor', '__proto__']) {
      const event = { event: name, clientid: 'c' } as unknown as HookEvent
      assert.throws(() => formatEvent(event), { name: 'TypeError', message: `unknown event "${name}"` })
      assert.throws(() => serializeEvent(event, 'plain'), {
        name: 'TypeError',
        message: `unknown event "${name}"`,
      })
    }
  })

  test('the default encoding is plain', () => {
    assert.equal(formatEvent(published(Buffer.from('hi'))).payload, 'hi')
  })

  test('serializeEvent is JSON.stringify(formatEvent(...)) for small payloads, synchronously', () => {
    for (const encoding of ENCODINGS) {
      const event = published(Buffer.from([0, 1, 2, 250, 0x22, 0x5c]))
      const serialized = serializeEvent(event, encoding)
      assert.equal(typeof serialized, 'string')
      assert.equal(serialized, JSON.stringify(formatEvent(event, { encoding })))
    }
  })

  test('serializeEvent stays synchronous for large plain and base64 payloads', () => {
    const event = published(Buffer.alloc(1024 * 1024, 0x41))
    assert.equal(serializeEvent(event, 'plain'), JSON.stringify(formatEvent(event, { encoding: 'plain' })))
    assert.equal(serializeEvent(event, 'base64'), JSON.stringify(formatEvent(event, { encoding: 'base64' })))
  })
})
