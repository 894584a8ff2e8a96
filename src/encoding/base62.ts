import baseX from 'base-x'

/** NanoMQ's and base-x's base62 alphabet. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

const baseXCodec = baseX(BASE62_ALPHABET)

/**
 * Up to this many bytes base-x's quadratic loop beats the BigInt route (measured, see bench); above it
 * the divide-and-conquer conversion wins by a growing margin.
 */
const BASE_X_MAX_BYTES = 24

/** Numbers below 62^(2^(LEAF_LEVEL+1)) = 62^8 < 2^53 are converted with plain number arithmetic. */
const LEAF_LEVEL = 2
/** 62^(2^k) for k = 0, 1, 2...; squared on demand and kept, since the same payload sizes come back. */
const powers: bigint[] = [62n]

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
  return digitsBelow(n, level, false)
}

/**
 * The digits of `n < 62^(2^(level+1))`: split by 62^(2^level) into a high and a low half, each converted
 * on its own. The low half is padded with zeros to its exact width, so that the halves join without a gap;
 * `pad` asks for the same padding of the whole.
 */
function digitsBelow(n: bigint, level: number, pad: boolean): string {
  if (level <= LEAF_LEVEL) return leafDigits(Number(n), pad ? 2 ** (level + 1) : 0)
  const divisor = power(level)
  const high = n / divisor
  const low = n - high * divisor
  if (high === 0n && !pad) return digitsBelow(low, level - 1, false)
  return digitsBelow(high, level - 1, pad) + digitsBelow(low, level - 1, true)
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
