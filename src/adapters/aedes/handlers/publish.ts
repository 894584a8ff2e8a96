import type { AedesPublishPacket, Client } from 'aedes'
import { recordOf } from '../record.ts'
import { type AdapterState, emit, isSysTopic, payloadBytes } from '../state.ts'

/**
 * aedes published a message (`publish`): from a client, from a will (the client is the one that died), or
 * from server code (`broker.publish`, no client: `from_client_id: null`). Its own `$SYS` traffic never fires.
 */
export function handlePublished(
  state: AdapterState,
  packet: AedesPublishPacket,
  client: Client | null,
): void {
  const topic = packet.topic
  if (typeof topic !== 'string' || isSysTopic(topic)) return
  const wanted = state.wanted
  const username = client ? recordOf(state, client).username : undefined
  const clientId = client ? client.id : null
  const payload = payloadBytes(packet.payload)
  if (packet.retain && (wanted.on_message_delivered || wanted.on_message_acked)) {
    if (payload.length === 0) state.retainedPublishers.delete(topic)
    else state.retainedPublishers.set(topic, { clientId, username })
  }
  if (!wanted.on_message_publish) return
  emit(state, {
    event: 'on_message_publish',
    topic,
    retain: packet.retain === true,
    qos: packet.qos,
    from_username: username,
    from_client_id: clientId,
    payload,
  })
}
