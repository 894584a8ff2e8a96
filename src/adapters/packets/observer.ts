import type { Packet } from 'mqtt-packet'
import { ObserverError, type ObserverErrorCode } from '../../errors.ts'
import type { Webhook } from '../../webhook-types.ts'
import { type PacketBudget, packetSizeOf, resolveMaxPacketSize } from './budget.ts'
import { handleClose } from './handlers/close.ts'
import { handleConnack } from './handlers/connack.ts'
import { handleConnect } from './handlers/connect.ts'
import { handleDisconnect } from './handlers/disconnect.ts'
import { handleAck } from './handlers/puback.ts'
import { handleDeliver, handlePublish } from './handlers/publish.ts'
import { handlePubrec } from './handlers/pubrec.ts'
import { handleSuback } from './handlers/suback.ts'
import { handleSubscribe } from './handlers/subscribe.ts'
import { handleUnsuback } from './handlers/unsuback.ts'
import { handleUnsubscribe } from './handlers/unsubscribe.ts'
import type { MessageOrigins } from './origins.ts'
import type { ClientSessions } from './sessions.ts'
import { type ConnectionState, createConnectionState } from './state.ts'

/** What `createPacketObserver` and `wrapStream` take besides the webhook. */
export interface ObserverOptions {
  /** The client's address, for `ipaddress`. `wrapStream` defaults it to the socket's `remoteAddress`. */
  remoteAddress?: string
  /**
   * The largest packet, in bytes (fixed header included, as MQTT 5's Maximum Packet Size), that is parsed
   * for events. Past it the connection stops being observed and the webhook reports it once
   * (`ObserverError`, `ERR_MQTT_PACKET_TOO_LARGE`); its bytes still pass. Packets no rule needs are
   * skipped whatever their size. At most 268435460 (the largest packet MQTT can encode) and at most
   * `packetBudget.bytes`.
   * @default 1048576 (1 MiB)
   */
  maxPacketSize?: number
  /**
   * Bytes that packets still arriving may hold, shared by the streams given the same budget (`wrapStream`,
   * the proxy; a packet observer holds nothing). Past it the connection whose packet does not fit stops
   * being observed and is reported once (`ERR_MQTT_PACKET_BUDGET`).
   * @default the process-wide budget, `processPacketBudget` (64 MiB)
   */
  packetBudget?: PacketBudget
}

/**
 * Turns the MQTT packets of one connection into hook events, as `createPacketObserver` returns it: feed it
 * each parsed packet in the order it went by. Never throws; bad input is reported through the webhook.
 */
export interface PacketObserver {
  /** A packet from the client to the server. */
  inbound(packet: Packet): void
  /** A packet from the server to the client. */
  outbound(packet: Packet): void
  /** The connection ended; `error` when it did not end cleanly. */
  close(error?: Error): void
}

type Handler = (state: ConnectionState, packet: Packet) => void

// One handler per packet type and direction, as aedes keeps one per packet type; others carry no event.
const inboundHandlers: Partial<Record<Packet['cmd'], Handler>> = {
  connect: handleConnect as Handler,
  publish: handlePublish as Handler,
  puback: handleAck as Handler,
  pubrec: handlePubrec as Handler,
  pubcomp: handleAck as Handler,
  subscribe: handleSubscribe as Handler,
  unsubscribe: handleUnsubscribe as Handler,
  disconnect: handleDisconnect as Handler,
}

const outboundHandlers: Partial<Record<Packet['cmd'], Handler>> = {
  connack: handleConnack as Handler,
  publish: handleDeliver as Handler,
  suback: handleSuback as Handler,
  unsuback: handleUnsuback as Handler,
}

/**
 * Derives hook events from the packets of one MQTT connection.
 *
 * A will message fires no `on_message_publish` here: only the broker knows whether it published it (a
 * clean DISCONNECT discards it, a will delay may outlive a reconnect), and the wire never says.
 */
export function createPacketObserver(webhook: Webhook, options: ObserverOptions = {}): PacketObserver {
  const maxPacketSize = resolveMaxPacketSize(options.maxPacketSize)
  return new ConnectionObserver(webhook, options.remoteAddress, undefined, maxPacketSize)
}

/** The observer of one connection; raw streams also use `fail` and `protocolVersion`. */
export class ConnectionObserver implements PacketObserver {
  readonly state: ConnectionState
  /** Set once the connection showed something we cannot follow: no more packets are looked at. */
  stopped = false
  /** Called once when it stops: raw streams give back what their taps hold. */
  onStop: (() => void) | undefined

  /**
   * @param maxPacketSize Checked here only for packets handed in already parsed (`createPacketObserver`);
   *   raw streams check it on the wire, before buffering anything.
   * @param sessions A relay's link between connections that share a client id.
   */
  constructor(
    webhook: Webhook,
    remoteAddress: string | undefined,
    origins?: MessageOrigins,
    private readonly maxPacketSize?: number,
    sessions?: ClientSessions,
  ) {
    this.state = createConnectionState(webhook, remoteAddress, origins, sessions)
  }

  /** The client's protocol version, from its CONNECT; both directions parse with it. */
  get protocolVersion(): number {
    return this.state.protocolVersion
  }

  get connecting(): boolean {
    return this.state.connecting
  }

  inbound(packet: Packet): void {
    this.dispatch(inboundHandlers, packet, 'inbound')
  }

  outbound(packet: Packet): void {
    this.dispatch(outboundHandlers, packet, 'outbound')
  }

  close(_error?: Error): void {
    try {
      handleClose(this.state)
    } catch (error) {
      this.report(`failed at close: ${(error as Error).message}`)
    }
  }

  /** Stops observing the connection and reports why, once. */
  fail(direction: 'inbound' | 'outbound', reason: string): void {
    this.stop('ERR_MQTT_MALFORMED', `malformed ${direction} MQTT: ${reason}`)
  }

  /** Stops observing the connection, the bytes going on unobserved, and reports `what` once under `code`. */
  stop(code: ObserverErrorCode, what: string): void {
    if (this.stopped) return
    this.stopped = true
    this.state.pendingSubscribes.clear()
    this.state.pendingUnsubscribes.clear()
    this.state.inflight.clear()
    this.onStop?.()
    this.report(`${what}; no longer observing this connection`, code)
  }

  private dispatch(
    handlers: Partial<Record<Packet['cmd'], Handler>>,
    packet: Packet,
    direction: string,
  ): void {
    if (this.stopped || this.state.closed) return
    const handler = handlers[packet.cmd]
    if (handler === undefined) return
    if (this.maxPacketSize !== undefined && packetSize(packet) > this.maxPacketSize) {
      const what = `${direction} ${packet.cmd.toUpperCase()} of ${packetSize(packet)} bytes`
      this.stop('ERR_MQTT_PACKET_TOO_LARGE', `${what} is over maxPacketSize (${this.maxPacketSize})`)
      return
    }
    try {
      handler(this.state, packet)
    } catch (error) {
      // A handler must never throw into the broker's packet path: stop following this connection instead.
      this.fail(
        direction as 'inbound' | 'outbound',
        `${packet.cmd} could not be handled: ${(error as Error).message}`,
      )
    }
  }

  private report(what: string, code: ObserverErrorCode = 'ERR_MQTT_MALFORMED'): void {
    const { clientid, ipaddress } = this.state
    const who = this.state.connecting ? `client "${clientid}"` : 'a client that has not sent CONNECT'
    const where = ipaddress === undefined ? '' : ` (${ipaddress})`
    try {
      this.state.webhook.reportError(new ObserverError(code, `mqtt-webhook: ${who}${where}: ${what}`))
    } catch {
      // reportError must not throw, but a broken webhook must not break the connection either.
    }
  }
}

/**
 * A parsed packet's size, from mqtt-packet's `length` (the remaining length) when it has one; else, for a
 * packet built in code, from its payload alone (a lower bound, enough to catch the large ones).
 */
function packetSize(packet: Packet): number {
  const { length, payload } = packet as { length?: unknown; payload?: unknown }
  if (typeof length === 'number') return packetSizeOf(length)
  if (typeof payload === 'string') return Buffer.byteLength(payload)
  return payload instanceof Uint8Array ? payload.byteLength : 0
}
