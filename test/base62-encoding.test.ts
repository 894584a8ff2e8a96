import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import baseX from 'base-x'
import { BASE62_ALPHABET, bigIntToBase62, encodeBase62 } from '../src/encoding/base62.ts'
import { encodeBase62Async, stopBase62Worker } from '../src/encoding/base62-async.ts'
import { BASE62_WORKER_MIN_BYTES } from '../src/encoding/payload.ts'
import type { HookEvent } from '../src/events.ts'
import { formatEvent, serializeEvent } from '../src/format.ts'

const reference = baseX(BASE62_ALPHABET)

/** A seeded generator (xorshift32), so that a failing payload can be made again from the printed seed. */
function randomSource(seed: number): (bound: number) => number {
  let state = seed >>> 0 || 1
  return (bound) => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % bound
  }
}

function randomPayload(random: (bound: number) => number, size: number, leadingZeros: number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let index = 0; index < size; index++) bytes[index] = random(256)
  bytes.fill(0, 0, Math.min(leadingZeros, size))
  return bytes
}

/** base62 by another route than the library's: repeated division by 62^10, the schoolbook way. */
function schoolbookBase62(bytes: Uint8Array): string {
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++
  let n = BigInt(`0x${Buffer.from(bytes.subarray(zeros)).toString('hex') || '0'}`)
  const chunk = 62n ** 10n
  const groups: string[] = []
  while (n > 0n) {
    let remainder = n % chunk
    n /= chunk
    let group = ''
    for (let digit = 0; digit < 10; digit++) {
      group = BASE62_ALPHABET[Number(remainder % 62n)] + group
      remainder /= 62n
    }
    groups.push(group)
  }
  const digits = groups.reverse().join('').replace(/^0+/, '')
  return '0'.repeat(zeros) + digits
}

function published(payload: Uint8Array): HookEvent {
  return {
    event: 'on_message_publish',
    ts: 7,
    topic: 't',
    qos: 1,
    retain: false,
    from_client_id: 'c',
    payload,
  }
}

describe('base62', () => {
  test("NanoMQ's vector: messagei+/ -> 2a7oZkl5ty6sG7", () => {
    assert.equal(encodeBase62(Buffer.from('messagei+/')), '2a7oZkl5ty6sG7')
    assert.equal(reference.encode(Buffer.from('messagei+/')), '2a7oZkl5ty6sG7')
  })

  test('edge cases equal base-x: empty, zeros only, single bytes, 62 and its powers', () => {
    const cases = [
      [],
      [0],
      [0, 0, 0],
      [1],
      [61],
      [62],
      [255],
      [0, 62],
      [0x0f, 0x04],
      [0xe1, 0x0f, 0x40],
      Array(40).fill(0),
      Array(40).fill(255),
      [0, 0, ...Array(100).fill(255)],
    ]
    for (const bytes of cases) {
      const payload = Uint8Array.from(bytes)
      assert.equal(encodeBase62(payload), reference.encode(payload), Buffer.from(payload).toString('hex'))
    }
  })

  test('equals base-x byte for byte on random payloads up to 2 KiB, many with leading zeros', () => {
    const seed = Date.now() >>> 0
    const random = randomSource(seed)
    for (let round = 0; round < 400; round++) {
      const size = round < 100 ? random(64) : random(2048) + 1
      const leadingZeros = random(2) === 0 ? random(6) + 1 : 0
      const payload = randomPayload(random, size, leadingZeros)
      const expected = reference.encode(payload)
      assert.equal(
        encodeBase62(payload),
        expected,
        `seed ${seed}, round ${round}: ${payload.toString('hex')}`,
      )
    }
  })

  test('the divide-and-conquer conversion equals base-x on numbers of every digit count up to 700', () => {
    // Walks the split points of the recursion (powers of two digits, and one either side of them).
    let n = 1n
    for (let digits = 1; digits <= 700; digits++) {
      for (const value of [n, n * 62n - 1n]) {
        const hex = value.toString(16)
        const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
        assert.equal(bigIntToBase62(value), reference.encode(bytes), `${digits} digits`)
      }
      n *= 62n
    }
  })

  test('powers of 62 and the numbers just below them, across the sizes where the method changes', () => {
    for (const exponent of [
      7, 8, 9, 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 8193,
    ]) {
      const power = 62n ** BigInt(exponent)
      assert.equal(bigIntToBase62(power), `1${'0'.repeat(exponent)}`, `62^${exponent}`)
      assert.equal(bigIntToBase62(power - 1n), 'z'.repeat(exponent), `62^${exponent} - 1`)
      assert.equal(bigIntToBase62(power + 1n), `1${'0'.repeat(exponent - 1)}1`, `62^${exponent} + 1`)
    }
  })

  test('64 KiB through the fast path equals an independent schoolbook conversion', () => {
    const payload = randomPayload(randomSource(64), 64 * 1024, 3)
    const encoded = encodeBase62(payload)
    assert.equal(encoded, schoolbookBase62(payload))
    assert.ok(encoded.startsWith('000') && encoded[3] !== '0')
  })
})

describe('base62 on the worker thread', () => {
  test('serializeEvent of a 1 MiB base62 payload resolves to the synchronous body', async () => {
    const payload = randomPayload(randomSource(1), 1024 * 1024, 2)
    const event = published(payload)
    const pending = serializeEvent(event, 'base62')
    assert.ok(pending instanceof Promise, 'a large base62 payload must leave the event loop')
    const expected = JSON.stringify(formatEvent(event, { encoding: 'base62' }))
    assert.equal(await pending, expected)
  })

  test('just past the threshold goes to the worker; at it, stays here', async () => {
    const atThreshold = published(randomPayload(randomSource(2), BASE62_WORKER_MIN_BYTES, 0))
    assert.equal(typeof serializeEvent(atThreshold, 'base62'), 'string')
    const past = published(randomPayload(randomSource(3), BASE62_WORKER_MIN_BYTES + 1, 1))
    const pending = serializeEvent(past, 'base62')
    assert.ok(pending instanceof Promise)
    assert.equal(await pending, JSON.stringify(formatEvent(past, { encoding: 'base62' })))
  })

  test('concurrent requests each get their own answer', async () => {
    const payloads = [0, 1, 2, 3, 4].map((index) =>
      randomPayload(randomSource(100 + index), BASE62_WORKER_MIN_BYTES + 1000 * index, index),
    )
    payloads.push(Buffer.alloc(BASE62_WORKER_MIN_BYTES + 5))
    const results = await Promise.all(payloads.map((payload) => encodeBase62Async(payload)))
    assert.deepEqual(
      results,
      payloads.map((payload) => encodeBase62(payload)),
    )
    assert.equal(results.at(-1), '0'.repeat(BASE62_WORKER_MIN_BYTES + 5))
  })

  test("a view's own bytes are sent, and the caller's buffer is left intact", async () => {
    const whole = randomPayload(randomSource(9), 3 * BASE62_WORKER_MIN_BYTES, 0)
    const copy = Buffer.from(whole)
    const view = whole.subarray(BASE62_WORKER_MIN_BYTES, 2 * BASE62_WORKER_MIN_BYTES + 10)
    assert.equal(await encodeBase62Async(view), encodeBase62(view))
    assert.equal(whole.byteLength, copy.byteLength)
    assert.ok(whole.equals(copy))
  })

  test('a worker that dies rejects what it held, and the next request starts a new one', async () => {
    const held = encodeBase62Async(randomPayload(randomSource(5), 256 * 1024, 0))
    const rejected = assert.rejects(held, { message: 'base62 worker failed: stopped' })
    await stopBase62Worker()
    await rejected
    const payload = randomPayload(randomSource(6), BASE62_WORKER_MIN_BYTES + 1, 0)
    assert.equal(await encodeBase62Async(payload), encodeBase62(payload))
  })
})
