import { isUtf8 } from 'node:buffer'
import mqtt, { type Packet, type Parser } from 'mqtt-packet'
import type { ObserverErrorCode } from '../../errors.ts'
import { HOOK_EVENT_NAMES, type HookEventName } from '../../events.ts'
import type { Webhook } from '../../webhook-types.ts'
import type { PacketLimits } from './budget.ts'
import type { ConnectionObserver } from './observer.ts'
import { decodePublish } from './publish-decoder.ts'
import { markExclusive } from './state.ts'

export type Direction = 'inbound' | 'outbound'

const CONNECT = 1
const CONNACK = 2
const PUBLISH = 3
const PUBACK = 4
const PUBREC = 5
const PUBREL = 6
const PUBCOMP = 7
const SUBSCRIBE = 8
const SUBACK = 9
const UNSUBSCRIBE = 10
const UNSUBACK = 11
const DISCONNECT = 14

const TYPE_NAMES = [
  'reserved',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
] as const

/**
 * From this size a packet gathered from several chunks gets a buffer of its own (not a slice of Node's
 * shared pool), so that the event can keep its payload without a second copy (`ownBytes`).
 */
const EXCLUSIVE_BUFFER_BYTES = 4096

/** Which packet types a direction must parse; the rest are only counted past. Indexed by packet type. */
export type PacketSelection = readonly boolean[]

/** Decides, from the rules, which packets each direction has to parse: parsing costs relay CPU. */
export function selectPackets(
  webhook: Webhook,
  tracksOrigins: boolean,
): { inbound: PacketSelection; outbound: PacketSelection } {
  const wants = (name: HookEventName) => webhook.wants(name)
  const acked = wants('on_message_acked')
  const delivers = wants('on_message_delivered') || acked
  const inbound: boolean[] = new Array(16).fill(false)
  const outbound: boolean[] = new Array(16).fill(false)
  // Once per connection, and they say who the client is, which protocol it speaks and how it leaves.
  inbound[CONNECT] = true
  inbound[DISCONNECT] = true
  outbound[CONNACK] = true
  // Publishes are remembered to name the publisher of deliveries, when deliveries are wanted.
  inbound[PUBLISH] = wants('on_message_publish') || (tracksOrigins && delivers)
  inbound[PUBACK] = acked
  inbound[PUBREC] = acked
  inbound[PUBCOMP] = acked
  inbound[SUBSCRIBE] = wants('on_client_subscribe') || wants('on_session_subscribed')
  inbound[UNSUBSCRIBE] = wants('on_client_unsubscribe') || wants('on_session_unsubscribed')
  outbound[PUBLISH] = delivers
  outbound[SUBACK] = wants('on_session_subscribed')
  outbound[UNSUBACK] = wants('on_session_unsubscribed')
  return { inbound, outbound }
}

/** Whether a webhook wants anything at all from the wire; when not, a raw stream is a pure pipe. */
export function wantsAnything(webhook: Webhook): boolean {
  return HOOK_EVENT_NAMES.some((name) => webhook.wants(name))
}

/** The fixed-header flags a packet type must carry (MQTT-2.2.2-1); `undefined` for PUBLISH, whose vary. */
function requiredFlags(type: number): number | undefined {
  if (type === PUBLISH) return undefined
  return type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 0x02 : 0x00
}

enum Step {
  Header,
  Length,
  Body,
}

/**
 * Follows one direction of a raw MQTT byte stream: finds packet boundaries from the fixed header, skips the
 * packets nobody needs without buffering them, and parses the others with mqtt-packet. Never changes or
 * holds back the bytes; on anything it cannot follow, or a packet over the size limits, it asks the
 * observer to stop.
 *
 * A packet inside one chunk is parsed where it lies. One spread over chunks is copied, as it arrives, into a
 * buffer of exactly its size, taken from the shared budget until it is parsed: that copy is the only one
 * (the event's payload is a slice of it), and no socket chunk stays pinned by a few bytes of a packet.
 */
export class PacketTap {
  private step = Step.Header
  private readonly header = Buffer.alloc(5)
  private headerLength = 0
  private remaining = 0
  private multiplier = 1
  private wanted = false
  /** The packet being gathered across chunks, and how much of it has arrived. */
  private packet: Buffer | null = null
  private filled = 0
  /** Bytes taken from the budget for `packet`. */
  private reserved = 0
  private parser: Parser | null = null
  private parserVersion = 0
  private seenPacket = false

  constructor(
    private readonly observer: ConnectionObserver,
    private readonly direction: Direction,
    private readonly selection: PacketSelection,
    private readonly limits: PacketLimits,
  ) {}

  /** Looks at a chunk that is on its way; never throws. */
  push(chunk: Buffer): void {
    if (this.observer.stopped) return
    try {
      this.scan(chunk)
    } catch (error) {
      this.fail(`could not be followed: ${(error as Error).message}`)
    }
  }

  /** Drops the packet being gathered, if any, and gives its bytes back to the budget. */
  release(): void {
    this.packet = null
    if (this.reserved === 0) return
    this.limits.budget.give(this.reserved)
    this.reserved = 0
  }

  private scan(chunk: Buffer): void {
    let offset = 0
    // Where the current packet started in this chunk, so that a packet inside one chunk is not copied.
    let packetStart = -1
    while (offset < chunk.length && !this.observer.stopped) {
      if (this.step === Step.Header) {
        packetStart = offset
        if (!this.beginPacket(chunk[offset++] as number)) return
        continue
      }
      if (this.step === Step.Length) {
        const byte = chunk[offset++] as number
        this.header[this.headerLength++] = byte
        this.remaining += (byte & 0x7f) * this.multiplier
        this.multiplier *= 0x80
        if (byte & 0x80) {
          if (this.headerLength < 5) continue
          this.fail('remaining length over the limit (more than 4 bytes)')
          return
        }
        if (!this.beginBody()) return
        if (this.wanted && packetStart !== -1 && offset + this.remaining <= chunk.length) {
          this.step = Step.Header
          offset += this.remaining
          this.parse(chunk.subarray(packetStart, offset))
          continue
        }
        if (this.wanted && !this.gather()) return
        if (this.remaining === 0) this.endBody()
        continue
      }
      const take = Math.min(this.remaining, chunk.length - offset)
      if (this.packet !== null) this.filled += chunk.copy(this.packet, this.filled, offset, offset + take)
      offset += take
      this.remaining -= take
      if (this.remaining === 0) this.endBody()
    }
  }

  private beginPacket(first: number): boolean {
    const type = first >> 4
    const flags = first & 0x0f
    const required = requiredFlags(type)
    if (type === 0) return this.fail('packet type 0 is reserved')
    if (required !== undefined && flags !== required)
      return this.fail(`bad fixed-header flags 0x${hex(first)}`)
    if (type === PUBLISH && (flags & 0x06) === 0x06) return this.fail('PUBLISH with QoS 3')
    if (this.direction === 'inbound' && !this.seenPacket && type !== CONNECT)
      return this.fail(`first packet is type ${type}, not CONNECT`)
    this.seenPacket = true
    this.header[0] = first
    this.headerLength = 1
    this.remaining = 0
    this.multiplier = 1
    this.step = Step.Length
    return true
  }

  /** Decides whether the packet whose length just ended is parsed; stops the connection if it is too large. */
  private beginBody(): boolean {
    const first = this.header[0] as number
    const type = first >> 4
    let wanted = this.selection[type] === true
    // Only QoS 1/2 deliveries can be acknowledged: skip QoS 0 ones when only acks are wanted (but not in
    // MQTT 5, where a QoS 0 PUBLISH may set a topic alias that a later QoS 1 one uses).
    if (wanted && type === PUBLISH && this.direction === 'outbound' && (first & 0x06) === 0)
      wanted =
        this.observer.protocolVersion === 5 || this.observer.state.webhook.wants('on_message_delivered')
    this.wanted = wanted
    this.step = Step.Body
    const size = this.headerLength + this.remaining
    if (wanted && size > this.limits.maxPacketSize)
      return this.stop(
        'ERR_MQTT_PACKET_TOO_LARGE',
        `${this.direction} ${TYPE_NAMES[type]} of ${size} bytes is over maxPacketSize (${this.limits.maxPacketSize})`,
      )
    return true
  }

  /** Starts gathering a packet that goes on in later chunks, if the budget has room for it. */
  private gather(): boolean {
    const size = this.headerLength + this.remaining
    const { budget } = this.limits
    if (!budget.take(size)) {
      const type = TYPE_NAMES[(this.header[0] as number) >> 4]
      return this.stop(
        'ERR_MQTT_PACKET_BUDGET',
        `${this.direction} ${type} of ${size} bytes does not fit the packet budget (${budget.used} of ${budget.bytes} bytes held by packets still arriving)`,
      )
    }
    this.reserved = size
    const packet = size >= EXCLUSIVE_BUFFER_BYTES ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size)
    if (size >= EXCLUSIVE_BUFFER_BYTES) markExclusive(packet)
    this.filled = this.header.copy(packet, 0, 0, this.headerLength)
    this.packet = packet
    return true
  }

  private endBody(): void {
    this.step = Step.Header
    const packet = this.packet
    if (packet === null) return
    this.packet = null
    try {
      this.parse(packet)
    } finally {
      this.release()
    }
  }

  /** Parses one whole packet (fixed header included) and hands it to the observer. */
  private parse(packet: Buffer): void {
    if ((packet[0] as number) >> 4 === PUBLISH) this.parsePublish(packet)
    else this.parserFor(this.observer.protocolVersion).parse(packet)
  }

  private parsePublish(packet: Buffer): void {
    // mqtt-packet would decode bad UTF-8 into U+FFFD without a word; MQTT says the connection must close.
    if (!topicIsUtf8(packet, this.headerLength)) return void this.fail('PUBLISH topic is not valid UTF-8')
    const decoded = decodePublish(packet, this.headerLength, this.observer.protocolVersion)
    if (typeof decoded === 'string') return void this.fail(decoded)
    if (this.direction === 'inbound') this.observer.inbound(decoded)
    else this.observer.outbound(decoded)
  }

  private parserFor(version: number): Parser {
    if (this.parser !== null && this.parserVersion === version) return this.parser
    // Both directions parse with the client's version, from its CONNECT: a v4 parser silently misreads v5
    // packets (properties taken for payload), so a new parser is made once the version is known.
    const parser = mqtt.parser({ protocolVersion: version })
    parser.on('packet', (packet: Packet) => {
      if (this.direction === 'inbound') this.observer.inbound(packet)
      else this.observer.outbound(packet)
    })
    parser.on('error', (error: Error) => this.fail(error.message))
    this.parser = parser
    this.parserVersion = version
    return parser
  }

  private fail(reason: string): false {
    this.release()
    this.observer.fail(this.direction, reason)
    return false
  }

  private stop(code: ObserverErrorCode, what: string): false {
    this.release()
    this.observer.stop(code, what)
    return false
  }
}

function topicIsUtf8(packet: Buffer, headerLength: number): boolean {
  if (packet.length < headerLength + 2) return true // too short: the parser says so
  const length = packet.readUInt16BE(headerLength)
  const start = headerLength + 2
  if (start + length > packet.length) return true
  return isUtf8(packet.subarray(start, start + length))
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0')
}
