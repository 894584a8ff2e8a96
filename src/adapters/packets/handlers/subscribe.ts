import type { ISubscribePacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/** SUBSCRIBE: one `on_client_subscribe` per filter; the filters wait for their SUBACK. */
export function handleSubscribe(state: ConnectionState, packet: ISubscribePacket): void {
  const { webhook } = state
  if (webhook.wants('on_session_subscribed') && packet.messageId !== undefined)
    state.pendingSubscribes.set(
      packet.messageId,
      packet.subscriptions.map((subscription) => subscription.topic),
    )
  if (!webhook.wants('on_client_subscribe')) return
  for (const subscription of packet.subscriptions)
    webhook.handle({
      event: 'on_client_subscribe',
      clientid: state.clientid,
      username: state.username,
      topic: subscription.topic,
      opts: { qos: subscription.qos },
    })
}
