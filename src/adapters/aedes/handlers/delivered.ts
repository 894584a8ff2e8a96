import type { AedesPublishPacket, Client } from 'aedes'
import type { QoS } from '../../../events.ts'
import { topicMatches } from '../../../topic.ts'
import { recordOf } from '../record.ts'
import {
  type AdapterState,
  type ClientRecord,
  emit,
  type InflightMessage,
  isSysTopic,
  MAX_INFLIGHT_PER_CLIENT,
  type Publisher,
  payloadBytes,
  report,
  usernameOf,
} from '../state.ts'

/**
 * aedes is about to send `packet` to `client`: the user's `authorizeForward` let it through (aedes asks
 * once per subscriber, just before the write, for live, retained and queued messages alike).
 */
export function handleDelivered(state: AdapterState, client: Client, packet: AedesPublishPacket): void {
  const topic = packet.topic
  if (typeof topic !== 'string' || isSysTopic(topic)) return
  const record = recordOf(state, client)
  const message = describe(state, record, packet)
  if (state.wanted.on_message_delivered) {
    emit(state, {
      event: 'on_message_delivered',
      clientid: client.id,
      username: record.username,
      from_client_id: message.from_client_id,
      from_username: message.from_username,
      topic,
      qos: message.qos,
      retain: message.retain,
      payload: message.payload,
    })
  }
  if (state.wanted.on_message_acked && message.qos > 0) awaitAck(state, record, message)
}

function describe(state: AdapterState, record: ClientRecord, packet: AedesPublishPacket): InflightMessage {
  const publisher = publisherOf(state, packet)
  return {
    topic: packet.topic,
    qos: sentQos(record, packet),
    retain: packet.retain === true,
    payload: payloadBytes(packet.payload),
    from_client_id: publisher.clientId,
    from_username: publisher.username,
    messageId: typeof packet.messageId === 'number' ? packet.messageId : undefined,
  }
}

/**
 * aedes tags a live message with its publisher's id; a retained message replayed on subscribe, or one
 * queued for an offline subscriber, comes without it, so we kept it when it was published.
 */
function publisherOf(state: AdapterState, packet: AedesPublishPacket): Publisher {
  const clientId = (packet as { clientId?: unknown }).clientId
  if (typeof clientId === 'string') return { clientId, username: usernameOf(state, clientId) }
  const payload = packet.payload as unknown
  const kept = packet.retain
    ? state.retainedPublishers.get(packet.topic)
    : typeof payload === 'object' && payload !== null
      ? state.queuedPublishers.get(payload)
      : undefined
  return kept ?? { clientId: null, username: undefined }
}

/**
 * The QoS the PUBLISH goes out with, as aedes 1.x decides it: a message re-sent from a persistent queue
 * already carries its packet id and final QoS; otherwise a QoS 0 subscription gets QoS 0, and a higher one
 * is downgraded only by a subscription to that exact topic. With overlapping subscriptions aedes uses the
 * first that matches; we take the highest granted.
 */
function sentQos(record: ClientRecord, packet: AedesPublishPacket): QoS {
  const qos = packet.qos
  if (qos === 0 || typeof packet.messageId === 'number') return qos
  let granted: QoS | undefined
  for (const [filter, subscribed] of record.subscriptions) {
    if ((granted === undefined || subscribed > granted) && topicMatches(filter, packet.topic))
      granted = subscribed
  }
  if (granted === 0) return 0
  const exact = record.subscriptions.get(packet.topic)
  return exact !== undefined && exact < qos ? exact : qos
}

function awaitAck(state: AdapterState, record: ClientRecord, message: InflightMessage): void {
  const queue = message.qos === 1 ? record.awaitingPuback : record.awaitingPubrec
  if (message.messageId === undefined) queue.inOrder.push(message)
  else queue.byId.set(message.messageId, message)
  if (queue.inOrder.length + queue.byId.size > MAX_INFLIGHT_PER_CLIENT) {
    queue.inOrder.shift()
    report(
      state,
      new Error(
        `aedes adapter: client ${record.client.id} left ${MAX_INFLIGHT_PER_CLIENT} messages unacknowledged; the oldest will fire no on_message_acked`,
      ),
    )
  }
}
