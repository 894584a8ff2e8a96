import type { ISubackPacket } from 'mqtt-packet'
import type { QoS } from '../../../events.ts'
import type { ConnectionState } from '../state.ts'

/** SUBACK: `on_session_subscribed` for each filter granted; 0x80 (and any v5 code >= 0x80) is a refusal. */
export function handleSuback(state: ConnectionState, packet: ISubackPacket): void {
  if (packet.messageId === undefined) return
  const filters = state.pendingSubscribes.get(packet.messageId)
  if (filters === undefined) return
  state.pendingSubscribes.delete(packet.messageId)
  filters.forEach((topic, index) => {
    const code = packet.granted[index]
    if (typeof code !== 'number' || code > 2) return
    state.webhook.handle({
      event: 'on_session_subscribed',
      clientid: state.clientid,
      username: state.username,
      topic,
      opts: { qos: code as QoS },
    })
  })
}
