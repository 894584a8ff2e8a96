import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet'
import { type AdapterState, type ClientRecord, emit, type InflightMessage, report } from '../state.ts'

/**
 * The subscriber acknowledged a message: PUBACK ends QoS 1, PUBREC is the middle of QoS 2, PUBCOMP ends it.
 * aedes' own `ack` event carries no message for clean sessions, so the adapter keeps what it sent on this
 * connection, by packet id: acknowledgements may come in any order (MQTT 5 says so; clients do).
 */
export function handleInboundAck(
  state: AdapterState,
  record: ClientRecord,
  packet: IPubackPacket | IPubrecPacket | IPubcompPacket,
): void {
  const messageId = packet.messageId
  if (typeof messageId !== 'number') return
  switch (packet.cmd) {
    case 'puback': {
      const message = take(record.awaitingPuback, messageId)
      if (message) fire(state, record, message)
      else unknownAck(state, record, 'PUBACK', messageId)
      return
    }
    case 'pubrec': {
      // A PUBREC repeated by the client (after a reconnect) is already waiting for its PUBCOMP.
      if (record.awaitingPubcomp.has(messageId)) return
      const message = take(record.awaitingPubrec, messageId)
      if (message) record.awaitingPubcomp.set(messageId, message)
      else unknownAck(state, record, 'PUBREC', messageId)
      return
    }
    case 'pubcomp': {
      const message = take(record.awaitingPubcomp, messageId)
      if (message) fire(state, record, message)
      else unknownAck(state, record, 'PUBCOMP', messageId)
      return
    }
  }
}

function take(queue: Map<number, InflightMessage>, messageId: number): InflightMessage | undefined {
  const message = queue.get(messageId)
  if (message) queue.delete(messageId)
  return message
}

function fire(state: AdapterState, record: ClientRecord, message: InflightMessage): void {
  emit(state, {
    event: 'on_message_acked',
    clientid: record.client.id,
    username: record.username,
    from_client_id: message.from_client_id,
    from_username: message.from_username,
    topic: message.topic,
    qos: message.qos,
    retain: message.retain,
    payload: message.payload,
    ts: message.ts,
  })
}

/** Acks of messages sent before the webhook was attached, or before a reconnect, cannot be described: say so. */
function unknownAck(state: AdapterState, record: ClientRecord, kind: string, messageId: number): void {
  report(
    state,
    new Error(
      `aedes adapter: ${kind} ${messageId} from client ${record.client.id} matches no message sent on this connection since attach; no on_message_acked`,
    ),
  )
}
