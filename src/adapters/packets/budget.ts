/** The largest remaining length MQTT can encode (four bytes of variable length integer). */
export const MQTT_MAX_REMAINING_LENGTH = 268_435_455

/** The largest whole packet MQTT can send: that remaining length, its four length bytes and the type byte. */
export const MQTT_MAX_PACKET_SIZE = MQTT_MAX_REMAINING_LENGTH + 5

/** `maxPacketSize` when not given: packets this large are rare, and each one is held whole to be parsed. */
export const DEFAULT_MAX_PACKET_SIZE = 1_048_576

/** The bytes of {@link processPacketBudget}: 64 packets of the default size arriving at once. */
export const DEFAULT_PACKET_BUDGET = 64 * 1_048_576

/**
 * Bytes that observed streams may hold together while packets they must parse are still arriving. A packet
 * that arrives inside one chunk is parsed where it lies and takes nothing; one spread over chunks is
 * gathered into a buffer of its own, which takes its whole size from the budget until it is parsed. A
 * connection whose packet does not fit stops being observed (its bytes still pass), so that many slow
 * clients cannot, together, hold more than this.
 */
export class PacketBudget {
  #used = 0

  /** @param bytes The most bytes held at once by the streams that share this budget. */
  constructor(readonly bytes: number) {
    if (!Number.isSafeInteger(bytes) || bytes <= 0)
      throw new RangeError(`a PacketBudget must be a positive integer of bytes, got ${String(bytes)}`)
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used
  }

  /** Takes `size` bytes when they fit; `false`, taking nothing, when they would go past the budget. */
  take(size: number): boolean {
    if (this.#used + size > this.bytes) return false
    this.#used += size
    return true
  }

  /** Gives back bytes taken. */
  give(size: number): void {
    this.#used = Math.max(0, this.#used - size)
  }
}

/** The budget shared by every `wrapStream` and proxy connection of the process that is given no other. */
export const processPacketBudget = new PacketBudget(DEFAULT_PACKET_BUDGET)

/** What a raw stream's taps need to know about sizes, checked and defaulted. */
export interface PacketLimits {
  maxPacketSize: number
  budget: PacketBudget
}

/**
 * Checks `maxPacketSize` and `packetBudget` as given to `wrapStream` or `startProxy`; throws a `RangeError`
 * naming the option. A packet must fit the budget on its own, or no packet of that size could be observed.
 */
export function resolvePacketLimits(options: {
  maxPacketSize?: number
  packetBudget?: PacketBudget
}): PacketLimits {
  const maxPacketSize = resolveMaxPacketSize(options.maxPacketSize)
  const budget = options.packetBudget ?? processPacketBudget
  if (!(budget instanceof PacketBudget))
    throw new RangeError('packetBudget must be a PacketBudget (new PacketBudget(bytes))')
  if (maxPacketSize > budget.bytes)
    throw new RangeError(
      `maxPacketSize (${maxPacketSize}) is larger than the packet budget (${budget.bytes} bytes): give a larger packetBudget`,
    )
  return { maxPacketSize, budget }
}

/** `maxPacketSize` checked and defaulted; throws a `RangeError` naming it. */
export function resolveMaxPacketSize(value: number | undefined): number {
  const maxPacketSize = value ?? DEFAULT_MAX_PACKET_SIZE
  if (!Number.isSafeInteger(maxPacketSize) || maxPacketSize <= 0)
    throw new RangeError(`maxPacketSize must be a positive integer of bytes, got ${String(maxPacketSize)}`)
  if (maxPacketSize > MQTT_MAX_PACKET_SIZE)
    throw new RangeError(
      `maxPacketSize must be at most ${MQTT_MAX_PACKET_SIZE} (MQTT's own limit), got ${maxPacketSize}`,
    )
  return maxPacketSize
}

/** The size of a whole packet (fixed header included) whose remaining length is `remaining`. */
export function packetSizeOf(remaining: number): number {
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x20_0000 ? 3 : 4
  return 1 + lengthBytes + remaining
}
