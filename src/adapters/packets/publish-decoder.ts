import type { IPublishPacket } from 'mqtt-packet'

/**
 * Decodes one whole PUBLISH (fixed header included) without mqtt-packet: PUBLISH is the packet a relay sees
 * most, and a general parser (buffer lists, a packet object per state) costs more than the packet itself.
 * Other packet types are rare and keep going through mqtt-packet.
 *
 * Returns the packet, or a string saying what is wrong with it.
 */
export function decodePublish(
  bytes: Buffer,
  headerLength: number,
  protocolVersion: number,
): IPublishPacket | string {
  const first = bytes[0] as number
  const qos = ((first >> 1) & 0x03) as 0 | 1 | 2
  let offset = headerLength
  if (offset + 2 > bytes.length) return 'PUBLISH too short for its topic'
  const topicLength = bytes.readUInt16BE(offset)
  offset += 2
  if (offset + topicLength > bytes.length) return 'PUBLISH topic longer than the packet'
  const topic = bytes.toString('utf8', offset, offset + topicLength)
  offset += topicLength
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic,
    qos,
    dup: (first & 0x08) !== 0,
    retain: (first & 0x01) !== 0,
    payload: bytes,
  }
  if (qos > 0) {
    if (offset + 2 > bytes.length) return 'PUBLISH too short for its message id'
    packet.messageId = bytes.readUInt16BE(offset)
    offset += 2
  }
  if (protocolVersion === 5) {
    const properties = readProperties(bytes, offset)
    if (typeof properties === 'string') return properties
    offset = properties.end
    if (properties.topicAlias !== undefined) packet.properties = { topicAlias: properties.topicAlias }
  }
  packet.payload = bytes.subarray(offset)
  return packet
}

/** Size in bytes of each PUBLISH property's value; 0 marks the variable-length kinds handled apart. */
const FIXED_PROPERTY_SIZES: Readonly<Record<number, number>> = {
  1: 1, // payload format indicator
  2: 4, // message expiry interval
  35: 2, // topic alias
}
const STRING_PROPERTIES = new Set([0x03, 0x08, 0x09]) // content type, response topic, correlation data
const USER_PROPERTY = 0x26
const SUBSCRIPTION_IDENTIFIER = 0x0b
const TOPIC_ALIAS = 0x23

/** Walks the v5 properties; only the topic alias matters to the events, the rest is checked and skipped. */
function readProperties(bytes: Buffer, start: number): { end: number; topicAlias?: number } | string {
  const length = readVarint(bytes, start)
  if (length === undefined) return 'PUBLISH properties length is malformed'
  let offset = length.next
  const end = offset + length.value
  if (end > bytes.length) return 'PUBLISH properties longer than the packet'
  let topicAlias: number | undefined
  while (offset < end) {
    const id = bytes[offset++] as number
    const fixed = FIXED_PROPERTY_SIZES[id]
    if (fixed !== undefined) {
      if (id === TOPIC_ALIAS && offset + 2 <= end) topicAlias = bytes.readUInt16BE(offset)
      offset += fixed
    } else if (STRING_PROPERTIES.has(id)) offset = skipString(bytes, offset, end)
    else if (id === USER_PROPERTY) offset = skipString(bytes, skipString(bytes, offset, end), end)
    else if (id === SUBSCRIPTION_IDENTIFIER) offset = readVarint(bytes, offset)?.next ?? end + 1
    else return `PUBLISH has an unknown property 0x${id.toString(16)}`
    if (offset > end) return 'PUBLISH property runs past the properties'
  }
  return topicAlias === undefined ? { end } : { end, topicAlias }
}

function skipString(bytes: Buffer, offset: number, end: number): number {
  if (offset + 2 > end) return end + 1
  return offset + 2 + bytes.readUInt16BE(offset)
}

function readVarint(bytes: Buffer, start: number): { value: number; next: number } | undefined {
  let value = 0
  let multiplier = 1
  for (let offset = start; offset < bytes.length && offset < start + 4; offset++) {
    const byte = bytes[offset] as number
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) return { value, next: offset + 1 }
    multiplier *= 0x80
  }
  return undefined
}
