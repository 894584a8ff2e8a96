import type { PayloadEncoding } from '../config-types.ts'
import { encodeBase62 } from './base62.ts'

/**
 * Above this many bytes, base62 runs on the worker thread. Measured here: ~2.5 ms of CPU at 8 KiB, ~4.5 ms at
 * 16 KiB, ~35 ms at 64 KiB (the cost grows faster than the size), and twice that on a loaded machine; no
 * single event may stall the broker for more than 50 ms, and a round trip to the worker costs well under 1 ms.
 */
export const BASE62_WORKER_MIN_BYTES = 8 * 1024

/** The `payload` field of a body. `''` for no bytes, in every encoding. */
export function encodePayload(payload: Uint8Array, encoding: PayloadEncoding): string {
  const bytes = asBuffer(payload)
  if (bytes.length === 0) return ''
  switch (encoding) {
    case 'base64':
      return bytes.toString('base64')
    case 'base62':
      return encodeBase62(bytes)
    default:
      // Invalid UTF-8 becomes U+FFFD; unlike NanoMQ, a NUL byte does not end the text.
      return bytes.toString('utf8')
  }
}

/** Whether encoding `payload` on this thread could stall the event loop, so it belongs on the worker. */
export function isSlowToEncode(payload: Uint8Array, encoding: PayloadEncoding): boolean {
  return encoding === 'base62' && payload.length > BASE62_WORKER_MIN_BYTES
}

/**
 * A Buffer view of the payload, without copying. A JavaScript caller may hand a string (or nothing) where
 * bytes belong; that must not crash the broker, so it is taken as its UTF-8 bytes (or as empty).
 */
export function asBuffer(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload
  if (payload instanceof Uint8Array)
    return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  return Buffer.alloc(0)
}
