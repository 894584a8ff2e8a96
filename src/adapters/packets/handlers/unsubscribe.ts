import type { IUnsubscribePacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/** UNSUBSCRIBE: one `on_client_unsubscribe` per filter; the filters wait for their UNSUBACK. */
export function handleUnsubscribe(state: ConnectionState, packet: IUnsubscribePacket): void {
  const { webhook } = state
  if (webhook.wants('on_session_unsubscribed') && packet.messageId !== undefined)
    state.pendingUnsubscribes.set(packet.messageId, packet.unsubscriptions)
  if (!webhook.wants('on_client_unsubscribe')) return
  for (const topic of packet.unsubscriptions)
    webhook.handle({
      event: 'on_client_unsubscribe',
      clientid: state.clientid,
      username: state.username,
      topic,
      opts: {},
    })
}
