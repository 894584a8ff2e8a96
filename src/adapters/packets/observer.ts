import type { Packet } from 'mqtt-packet'
import type { Webhook } from '../../webhook-types.ts'

export interface ObserverOptions {
  /** The client's address, for `ipaddress`. */
  remoteAddress?: string
}

export interface PacketObserver {
  /** A packet from the client to the server. */
  inbound(packet: Packet): void
  /** A packet from the server to the client. */
  outbound(packet: Packet): void
  /** The connection ended; `error` when it did not end cleanly. */
  close(error?: Error): void
}

/** Derives hook events from the packets of one MQTT connection. */
export function createPacketObserver(_webhook: Webhook, _options: ObserverOptions = {}): PacketObserver {
  throw new Error('not implemented')
}
