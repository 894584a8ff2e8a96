import type { AedesPublishPacket, Client } from 'aedes'
import { isSysTopic } from '../../../topic.ts'
import { type AdapterState, emit, type Publisher, payloadBytes, usernameOfClient } from '../state.ts'

/**
 * aedes takes a message (`broker.publish`, wrapped): from a client (after its `authorizePublish`; QoS 2 once
 * stored), from a will (the client is the one that died), or from server code (no client:
 * `from_client_id: null`). This is before aedes routes it, so the message's publish event comes before any
 * of its deliveries, with the `ts` of that moment. Its own `$SYS` traffic never fires.
 */
export function handlePublished(
  state: AdapterState,
  packet: AedesPublishPacket,
  client: Client | null | undefined,
): void {
  const topic = packet.topic
  if (typeof topic !== 'string' || isSysTopic(topic)) return
  const ts = Date.now()
  const wanted = state.wanted
  const publisher: Publisher = client
    ? { clientId: client.id, username: usernameOfClient(state, client) }
    : { clientId: null, username: undefined }
  const payload = payloadBytes(packet.payload)
  if (wanted.on_message_delivered || wanted.on_message_acked)
    rememberPublisher(state, packet, publisher, payload)
  if (!wanted.on_message_publish) return
  emit(state, {
    event: 'on_message_publish',
    ts,
    topic,
    retain: packet.retain === true,
    qos: packet.qos ?? 0,
    from_username: publisher.username,
    from_client_id: publisher.clientId,
    payload,
  })
}

/**
 * Keeps who published a message for its deliveries: aedes names a live one's publisher only by id (and a
 * takeover may reuse the id meanwhile), and none at all for retained or queued ones.
 */
function rememberPublisher(
  state: AdapterState,
  packet: AedesPublishPacket,
  publisher: Publisher,
  payload: Uint8Array,
) {
  if (packet.retain) {
    if (payload.length === 0) state.retainedPublishers.delete(packet.topic)
    else state.retainedPublishers.set(packet.topic, publisher)
  }
  // aedes copies the packet on its way to each subscriber but keeps its payload object.
  const key = packet.payload as unknown
  if (publisher.clientId !== null && typeof key === 'object' && key !== null) {
    state.publishers.set(key, publisher)
  }
}
