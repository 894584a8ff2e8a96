import type { AedesPublishPacket, Client } from 'aedes'
import type { QoS } from '../../../events.ts'
import { isSysTopic, topicMatches } from '../../../topic.ts'
import { recordOf } from '../record.ts'
import {
  type AdapterState,
  type ClientRecord,
  emit,
  type InflightMessage,
  nextPacketIdOf,
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
      ts: message.ts,
    })
  }
  if (state.wanted.on_message_acked && message.qos > 0) awaitAck(state, record, message, packet)
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
    ts: Date.now(),
  }
}

/**
 * Who published the message, from what the adapter saw when aedes took it (its payload object travels
 * with every copy); a retained message replayed from a persistence that copies it, by its topic; a live one
 * aedes tagged only with an id, by that id's last username.
 */
function publisherOf(state: AdapterState, packet: AedesPublishPacket): Publisher {
  const payload = packet.payload as unknown
  const kept = typeof payload === 'object' && payload !== null ? state.publishers.get(payload) : undefined
  if (kept) return kept
  const clientId = (packet as { clientId?: unknown }).clientId
  if (typeof clientId === 'string') return { clientId, username: usernameOf(state, clientId) }
  const retained = packet.retain ? state.retainedPublishers.get(packet.topic) : undefined
  return retained ?? { clientId: null, username: undefined }
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

/**
 * Keeps the message under the packet id it goes out with, so that the subscriber's PUBACK/PUBREC/PUBCOMP
 * names it. A message re-sent from a persistent queue already has its id. A new one gets
 * `client._nextId` when aedes builds the outgoing packet, in the `setImmediate` it schedules right after
 * `authorizeForward` returns: ours, scheduled now, runs just before it, so reads the id it will take.
 */
function awaitAck(
  state: AdapterState,
  record: ClientRecord,
  message: InflightMessage,
  packet: AedesPublishPacket,
): void {
  const queue = message.qos === 1 ? record.awaitingPuback : record.awaitingPubrec
  if (typeof packet.messageId === 'number') {
    keep(queue, packet.messageId, message)
    return
  }
  setImmediate(() => {
    if (!state.active) return
    const id = nextPacketIdOf(record.client)
    if (id === undefined) {
      report(
        state,
        new Error('aedes adapter: client._nextId is gone (aedes changed); on_message_acked cannot fire'),
      )
      return
    }
    keep(queue, id, message)
  })
}

/** Packet ids are 16-bit, so a subscriber has at most 65535 entries per queue: bounded without a cap. */
function keep(queue: Map<number, InflightMessage>, id: number, message: InflightMessage): void {
  // aedes reuses an id only after wrapping around; what is still under it was never acknowledged.
  queue.set(id, message)
}
