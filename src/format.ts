import type { PayloadEncoding } from './config-types.ts'
import type { HookEvent } from './events.ts'

export interface FormatOptions {
  /** @default 'plain' */
  encoding?: PayloadEncoding
}

/** The exact JSON body for `event` (SPEC §4), as an object whose key order is the body's. Pure. */
export function formatEvent(_event: HookEvent, _options: FormatOptions = {}): Record<string, unknown> {
  throw new Error('not implemented')
}

/**
 * The compact JSON body for `event`, exactly `JSON.stringify(formatEvent(event, { encoding }))`.
 * Returns a string when that is cheap, and a promise when the payload is large enough that encoding it
 * on this thread would stall the event loop (base62 of a big payload runs on a worker thread).
 */
export function serializeEvent(_event: HookEvent, _encoding: PayloadEncoding): string | Promise<string> {
  throw new Error('not implemented')
}
