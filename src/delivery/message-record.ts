/**
 * Message events cross to the delivery thread as their fields, not as their body: the broker's thread
 * writes a record (a few numbers, the strings, the payload bytes) and the delivery thread formats the body
 * when it sends it. Measured under aedes, formatting the body and writing it cost the broker's thread
 * 7–10 µs a message, writing the fields 1–2 µs.
 *
 * A record is one job's bytes in a batch's block, told from a body by its first byte (a body is a JSON
 * object: it starts with `{`):
 *
 * | bytes | field |
 * |---|---|
 * | 1 | `RECORD_TAG` |
 * | 1 | the event: 0 publish, 1 delivered, 2 acked |
 * | 1 | qos |
 * | 1 | retain, 0 or 1 |
 * | 8 | ts, a float64 |
 * | 5 x (4 + n) | topic, clientid, username, from_client_id, from_username: a uint32 byte length (`ABSENT` for none), then UTF-16 |
 * | the rest | the payload |
 *
 * Strings go as UTF-16, the code units themselves: a lone surrogate survives it (UTF-8 would turn it into
 * U+FFFD, and the body would differ from the one written on the broker's thread).
 */
import type { PayloadEncoding } from '../config-types.ts'
import { isSlowToEncode } from '../encoding/payload.ts'
import type { HookEvent, MessageDeliveredEvent, MessagePublishEvent } from '../events.ts'
import { serializeEvent } from '../format.ts'

export type MessageHookEvent = Extract<HookEvent, { payload: Uint8Array }>

const RECORD_TAG = 0x01
const ABSENT = 0xffff_ffff
const NAMES = ['on_message_publish', 'on_message_delivered', 'on_message_acked'] as const
const HEADER_BYTES = 12
const STRING_FIELDS = 5
const BYTES_PER_UNIT = 2

/**
 * The event as a record, if it can be one: a message event whose fields have the contract's types (odd
 * values from a JavaScript caller take the text path, which formats whatever it is given) and whose payload
 * is quick to encode (a big base62 payload is encoded on a worker of its own, see `format.ts`).
 */
export function recordable(event: HookEvent, encoding: PayloadEncoding): event is MessageHookEvent {
  const kind = NAMES.indexOf(event.event as (typeof NAMES)[number])
  if (kind < 0) return false
  const message = event as MessageHookEvent
  const { qos, ts, payload } = message
  return (
    typeof message.topic === 'string' &&
    (qos === 0 || qos === 1 || qos === 2) &&
    typeof message.retain === 'boolean' &&
    (ts === undefined || (typeof ts === 'number' && Number.isFinite(ts))) &&
    optionalString(message.from_client_id) &&
    optionalString(message.from_username) &&
    (kind === 0 || isClient(message as MessageDeliveredEvent)) &&
    payload instanceof Uint8Array &&
    !isSlowToEncode(payload, encoding)
  )
}

/** The most bytes the record of `event` takes. */
export function recordBound(event: MessageHookEvent): number {
  const client = event as Partial<MessageDeliveredEvent>
  const units =
    event.topic.length +
    (client.clientid?.length ?? 0) +
    (client.username?.length ?? 0) +
    (event.from_client_id?.length ?? 0) +
    (event.from_username?.length ?? 0)
  return HEADER_BYTES + 4 * STRING_FIELDS + BYTES_PER_UNIT * units + event.payload.length
}

/** Writes the record of `event` at `offset` (room for `recordBound(event)` bytes is there); returns its length. */
export function writeRecord(event: MessageHookEvent, block: Buffer, offset: number): number {
  const client = event as Partial<MessageDeliveredEvent>
  block[offset] = RECORD_TAG
  block[offset + 1] = NAMES.indexOf(event.event)
  block[offset + 2] = event.qos
  block[offset + 3] = event.retain ? 1 : 0
  block.writeDoubleLE(event.ts ?? Date.now(), offset + 4)
  let at = offset + HEADER_BYTES
  at = writeString(block, at, event.topic)
  at = writeString(block, at, client.clientid)
  at = writeString(block, at, client.username)
  at = writeString(block, at, event.from_client_id)
  at = writeString(block, at, event.from_username)
  block.set(event.payload, at)
  return at + event.payload.length - offset
}

/** The event a record holds; its payload is a view of the record. */
export function readRecord(record: Buffer): MessageHookEvent {
  let at = HEADER_BYTES
  const next = (): string | undefined => {
    const length = record.readUInt32LE(at)
    at += 4
    if (length === ABSENT) return undefined
    at += length
    return record.toString('utf16le', at - length, at)
  }
  const topic = next() as string
  const clientid = next()
  const username = next()
  const fromClientId = next() ?? null
  const fromUsername = next()
  const fields = {
    topic,
    qos: record[2] as MessagePublishEvent['qos'],
    retain: record[3] === 1,
    ts: record.readDoubleLE(4),
    from_client_id: fromClientId,
    from_username: fromUsername,
    payload: record.subarray(at),
  }
  const name = NAMES[record[1] as number] ?? 'on_message_publish'
  if (name === 'on_message_publish') return { event: name, ...fields }
  return { event: name, clientid: clientid as string, username, ...fields }
}

/** Whether a job's bytes are a record rather than a body. */
export function isRecord(bytes: Buffer): boolean {
  return bytes[0] === RECORD_TAG
}

/** The body of the event a record holds, exactly as `serializeEvent` writes it on the broker's thread. */
export function formatRecord(record: Buffer, encoding: PayloadEncoding): string {
  const body = serializeEvent(readRecord(record), encoding)
  // Records are only made of payloads quick to encode (`recordable`): the body is never a promise.
  if (typeof body !== 'string') throw new Error('a record holds a payload too slow to encode here')
  return body
}

function isClient(message: MessageDeliveredEvent): boolean {
  return typeof message.clientid === 'string' && optionalString(message.username)
}

function optionalString(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string'
}

function writeString(block: Buffer, at: number, value: string | null | undefined): number {
  if (value === undefined || value === null) {
    block.writeUInt32LE(ABSENT, at)
    return at + 4
  }
  if (value.length > SHORT_STRING) {
    const length = block.write(value, at + 4, 'utf16le')
    block.writeUInt32LE(length, at)
    return at + 4 + length
  }
  // Topics and client ids are short: copying their UTF-16 code units here costs a fifth of a call to
  // `Buffer.write` (measured: 22–31 ns against 110–135 per string), on the broker's thread, per event.
  let end = at + 4
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    block[end++] = unit & 0xff
    block[end++] = unit >>> 8
  }
  block.writeUInt32LE(2 * value.length, at)
  return end
}

/** Strings up to this many UTF-16 code units are copied in JavaScript rather than by `Buffer.write`. */
const SHORT_STRING = 64
