/**
 * The event of a stored job, for the reports (and `options.send`) of events taken back from the store at a
 * start or replayed: the store keeps what is sent, not the event handed to `handle()`.
 */
import baseX from 'base-x'
import type { PayloadEncoding } from '../../config-types.ts'
import { BASE62_ALPHABET } from '../../encoding/base62.ts'
import type { HookEvent } from '../../events.ts'
import { isRecord, readRecord } from '../message-record.ts'
import type { StoredEvent } from './types.ts'

const base62 = baseX(BASE62_ALPHABET)

/**
 * A message event kept as its record is rebuilt exactly; an event kept as its body is rebuilt from the body:
 * its fields, with the payload decoded back to bytes (an absent username reads `'undefined'`, as the body says).
 */
export function eventFromStored(stored: StoredEvent, encoding: PayloadEncoding): HookEvent {
  if (isRecord(stored.bytes)) return readRecord(Buffer.from(stored.bytes))
  const { action: _action, ...fields } = JSON.parse(stored.bytes.toString('utf8')) as Record<string, unknown>
  if (typeof fields.payload === 'string') fields.payload = decodePayload(fields.payload, encoding)
  return { event: stored.event, ...fields } as HookEvent
}

function decodePayload(text: string, encoding: PayloadEncoding): Buffer {
  if (encoding === 'base64') return Buffer.from(text, 'base64')
  if (encoding === 'base62') return text === '' ? Buffer.alloc(0) : Buffer.from(base62.decode(text))
  return Buffer.from(text, 'utf8')
}
