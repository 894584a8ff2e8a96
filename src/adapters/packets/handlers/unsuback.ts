import type { IUnsubackPacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/** v5 "no subscription existed": nothing was removed, so nothing fires. */
const NO_SUBSCRIPTION_EXISTED = 0x11

/**
 * UNSUBACK: `on_session_unsubscribed` for each filter removed. MQTT 3.1.1 acknowledges all at once; MQTT 5
 * gives a reason code per filter, and codes >= 0x80 (and 0x11) mean nothing was removed.
 */
export function handleUnsuback(state: ConnectionState, packet: IUnsubackPacket): void {
  if (packet.messageId === undefined) return
  const filters = state.pendingUnsubscribes.get(packet.messageId)
  if (filters === undefined) return
  state.pendingUnsubscribes.delete(packet.messageId)
  const codes = state.protocolVersion === 5 ? packet.granted : undefined
  filters.forEach((topic, index) => {
    const code = codes?.[index] ?? 0
    if (code >= 0x80 || code === NO_SUBSCRIPTION_EXISTED) return
    state.webhook.handle({
      event: 'on_session_unsubscribed',
      clientid: state.clientid,
      username: state.username,
      topic,
    })
  })
}
