import type { Packet } from 'mqtt-packet'
import type { Webhook } from '../../webhook-types.ts'
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

/** The largest remaining length MQTT can encode (four bytes of variable length integer). */
export const MQTT_MAX_REMAINING_LENGTH = 268_435_455

export interface ObserverOptions {
  /** The client's address, for `ipaddress`. `wrapStream` defaults it to the socket's `remoteAddress`. */
  remoteAddress?: string
  /**
   * Packets with a larger remaining length are not buffered for parsing: the connection stops being
   * observed and the webhook reports it (the bytes still pass). Only raw streams (`wrapStream`, the proxy)
   * use it.
   * @default 268435455 (MQTT's own limit)
   */
  maxPacketSize?: number
}

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
  return new ConnectionObserver(webhook, options.remoteAddress)
}

/** The observer of one connection; raw streams also use `fail` and `protocolVersion`. */
export class ConnectionObserver implements PacketObserver {
  readonly state: ConnectionState
  /** Set once the connection showed something we cannot follow: no more packets are looked at. */
  stopped = false

  constructor(
    webhook: Webhook,
    remoteAddress: string | undefined,
    origins?: MessageOrigins,
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
    if (this.stopped) return
    this.stopped = true
    this.state.pendingSubscribes.clear()
    this.state.pendingUnsubscribes.clear()
    this.state.inflight.clear()
    this.report(`malformed ${direction} MQTT: ${reason}; no longer observing this connection`)
  }

  private dispatch(
    handlers: Partial<Record<Packet['cmd'], Handler>>,
    packet: Packet,
    direction: string,
  ): void {
    if (this.stopped || this.state.closed) return
    const handler = handlers[packet.cmd]
    if (handler === undefined) return
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

  private report(what: string): void {
    const { clientid, ipaddress } = this.state
    const who = this.state.connecting ? `client "${clientid}"` : 'a client that has not sent CONNECT'
    const where = ipaddress === undefined ? '' : ` (${ipaddress})`
    try {
      this.state.webhook.reportError(new Error(`mqtt-webhook: ${who}${where}: ${what}`))
    } catch {
      // reportError must not throw, but a broken webhook must not break the connection either.
    }
  }
}
