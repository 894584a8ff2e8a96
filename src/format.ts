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
