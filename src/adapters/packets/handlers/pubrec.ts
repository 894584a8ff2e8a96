import type { IPubrecPacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/** Inbound PUBREC: a v5 reason code >= 0x80 ends the QoS 2 flow there, so no PUBCOMP will acknowledge it. */
export function handlePubrec(state: ConnectionState, packet: IPubrecPacket): void {
  if (packet.messageId === undefined) return
  if ((packet.reasonCode ?? 0) >= 0x80) state.inflight.delete(packet.messageId)
}
