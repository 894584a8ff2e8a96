import baseX from 'base-x'

/** NanoMQ's and base-x's base62 alphabet. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

// Kept beside base-x rather than replacing it: base-x is the reference (and runs below BASE_X_MAX_BYTES),
// but its conversion is quadratic, and a 1 MiB payload would stall the broker for seconds. The
// divide-and-conquer BigInt conversion below gives the same text in near-linear time; the tests hold the
// two equal.
const baseXCodec = baseX(BASE62_ALPHABET)

/**
 * Up to this many bytes base-x's quadratic loop is as fast as the BigInt route (measured here: equal at
 * 16 bytes, BigInt 1.4x faster at 32, 7x at 128, 30x at 1 KiB), and it is the reference.
 */
const BASE_X_MAX_BYTES = 24

/** Numbers below 62^(2^(LEAF_LEVEL+1)) = 62^8 < 2^53 are converted with plain number arithmetic. */
const LEAF_LEVEL = 2
/** 62^(2^k) for k = 0, 1, 2...; squared on demand and kept, since the same payload sizes come back. */
const powers: bigint[] = [62n]
/**
 * From this level (divisors of 62^1024, about 6,100 bits) Barrett reduction beats V8's division; below it
 * the reciprocal costs more than it saves.
 */
const BARRETT_MIN_LEVEL = 10
/** Powers and reciprocals kept between calls: up to 62^(2^20), enough for payloads up to ~1.5 MiB (~3 MB in all). */
const MAX_CACHED_LEVEL = 20
/** Barrett reciprocals of the powers, by level, made on first use. */
const reciprocals: Array<{ reciprocal: bigint; bits: bigint } | undefined> = []

/**
 * `payload` in base62, exactly as base-x encodes it with {@link BASE62_ALPHABET}: the bytes as one
 * big-endian number, plus one `'0'` per leading zero byte; `''` for no bytes. Runs on this thread:
 * callers with large payloads use the worker (`encodeBase62Async`).
 */
export function encodeBase62(payload: Uint8Array): string {
  if (payload.length <= BASE_X_MAX_BYTES) return baseXCodec.encode(payload)
  let zeros = 0
  while (zeros < payload.length && payload[zeros] === 0) zeros++
  const leader = '0'.repeat(zeros)
  if (zeros === payload.length) return leader
  const bytes = Buffer.from(payload.buffer, payload.byteOffset + zeros, payload.length - zeros)
  return leader + bigIntToBase62(BigInt(`0x${bytes.toString('hex')}`))
}

/** The base62 digits of `n > 0`, without leading zeros. */
export function bigIntToBase62(n: bigint): string {
  let level = LEAF_LEVEL
  while (power(level + 1) <= n) level++
  const digits = digitsBelow(n, level, false, true)
  // A rare huge payload (MQTT allows 256 MiB) must not pin its powers in memory for good.
  if (powers.length > MAX_CACHED_LEVEL + 1) powers.length = MAX_CACHED_LEVEL + 1
  if (reciprocals.length > MAX_CACHED_LEVEL + 1) reciprocals.length = MAX_CACHED_LEVEL + 1
  return digits
}

/**
 * The digits of `n < 62^(2^(level+1))`: split by 62^(2^level) into a high and a low half, each converted
 * on its own. The low half is padded with zeros to its exact width, so that the halves join without a gap;
 * `pad` asks for the same padding of the whole. `top` marks the one split of its size: there a reciprocal
 * not yet made would cost as much as the division it replaces.
 */
function digitsBelow(n: bigint, level: number, pad: boolean, top = false): string {
  if (level <= LEAF_LEVEL) return leafDigits(Number(n), pad ? 2 ** (level + 1) : 0)
  const divisor = power(level)
  let high =
    level < BARRETT_MIN_LEVEL || (top && reciprocals[level] === undefined)
      ? n / divisor
      : barrettQuotient(n, level)
  let low = n - high * divisor
  // Barrett's estimate may fall short by up to two (never over); plain division is exact and skips this.
  while (low >= divisor) {
    low -= divisor
    high++
  }
  if (high === 0n && !pad) return digitsBelow(low, level - 1, false, top)
  return digitsBelow(high, level - 1, pad) + digitsBelow(low, level - 1, true)
}

/**
 * `n / 62^(2^level)` for `n < 62^(2^(level+1))`, less 0 to 2, by Barrett reduction: two shifts and one
 * multiplication by a reciprocal computed once per level. V8 divides large BigInts several times slower
 * than it multiplies them, and every node of one level shares the same divisor.
 */
function barrettQuotient(n: bigint, level: number): bigint {
  const { reciprocal, bits } = barrettReciprocal(level)
  return ((n >> (bits - 1n)) * reciprocal) >> (bits + 1n)
}

function barrettReciprocal(level: number): { reciprocal: bigint; bits: bigint } {
  let cached = reciprocals[level]
  if (cached === undefined) {
    const divisor = power(level)
    const hex = divisor.toString(16)
    const bits = BigInt((hex.length - 1) * 4 + Number.parseInt(hex[0] as string, 16).toString(2).length)
    cached = { reciprocal: (1n << (2n * bits)) / divisor, bits }
    reciprocals[level] = cached
  }
  return cached
}

/** Digits of `n < 62^8`, padded with zeros to `width`. */
function leafDigits(n: number, width: number): string {
  let text = ''
  while (n > 0) {
    const digit = n % 62
    text = BASE62_ALPHABET[digit] + text
    n = (n - digit) / 62
  }
  return text.padStart(width, '0')
}

function power(level: number): bigint {
  while (powers.length <= level) {
    const last = powers[powers.length - 1] as bigint
    powers.push(last * last)
  }
  return powers[level] as bigint
}
