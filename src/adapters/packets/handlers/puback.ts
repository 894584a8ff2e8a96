import type { IPubackPacket, IPubcompPacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/**
 * Inbound PUBACK (QoS 1) or PUBCOMP (QoS 2): the client acknowledges a message the broker sent it; fires
 * `on_message_acked` with that message's keys.
 */
export function handleAck(state: ConnectionState, packet: IPubackPacket | IPubcompPacket): void {
  if (packet.messageId === undefined) return
  const message = state.inflight.get(packet.messageId)
  if (message === undefined) return
  state.inflight.delete(packet.messageId)
  state.webhook.handle({
    event: 'on_message_acked',
    clientid: state.clientid,
    username: state.username,
    ...message,
  })
}
