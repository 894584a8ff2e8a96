import type { IPublishPacket } from 'mqtt-packet'
import { isSysTopic } from '../../../topic.ts'
import { type ConnectionState, originOf, ownBytes, resolveTopic } from '../state.ts'

/** Inbound PUBLISH: the client publishes; fires `on_message_publish`. */
export function handlePublish(state: ConnectionState, packet: IPublishPacket): void {
  const topic = resolveTopic(state.inboundAliases, packet.topic, packet.properties?.topicAlias)
  if (topic === undefined || isSysTopic(topic)) return
  if (state.origins !== undefined) state.origins.remember(topic, asBytes(packet.payload), state)
  if (!state.webhook.wants('on_message_publish')) return
  state.webhook.handle({
    event: 'on_message_publish',
    ts: Date.now(),
    topic,
    retain: packet.retain,
    qos: packet.qos,
    from_username: state.username,
    from_client_id: state.clientid,
    payload: ownBytes(packet.payload),
  })
}

/**
 * Outbound PUBLISH: the broker delivers to this client; fires `on_message_delivered`, and keeps QoS 1/2
 * messages until the client acknowledges them (`on_message_acked`).
 *
 * The wire does not say who published a delivered message: a relay that remembers what its clients
 * published names them (`MessageOrigins`); otherwise `from_client_id` is `null`, as for a message the broker
 * published itself.
 */
export function handleDeliver(state: ConnectionState, packet: IPublishPacket): void {
  const topic = resolveTopic(state.outboundAliases, packet.topic, packet.properties?.topicAlias)
  if (topic === undefined || isSysTopic(topic)) return
  const { webhook } = state
  const wantsDelivered = webhook.wants('on_message_delivered')
  const wantsAcked = packet.qos > 0 && packet.messageId !== undefined && webhook.wants('on_message_acked')
  if (!wantsDelivered && !wantsAcked) return
  const payload = ownBytes(packet.payload)
  const message = {
    topic,
    qos: packet.qos,
    retain: packet.retain,
    payload,
    ts: Date.now(),
    ...originOf(state, topic, payload),
  }
  if (wantsAcked) state.inflight.set(packet.messageId as number, message)
  if (!wantsDelivered) return
  webhook.handle({
    event: 'on_message_delivered',
    clientid: state.clientid,
    username: state.username,
    ...message,
  })
}

function asBytes(payload: string | Buffer): Uint8Array {
  return typeof payload === 'string' ? Buffer.from(payload) : payload
}
