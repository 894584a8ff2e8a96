import type { AedesPublishPacket, Client } from 'aedes'
import {
  type AdapterState,
  emit,
  isSysTopic,
  type Publisher,
  payloadBytes,
  usernameOfClient,
} from '../state.ts'

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
  const publisher: Publisher = {
    clientId: client ? client.id : null,
    username: client ? usernameOfClient(state, client) : undefined,
  }
  const payload = payloadBytes(packet.payload)
  if (wanted.on_message_delivered || wanted.on_message_acked)
    rememberPublisher(state, packet, publisher, payload)
  if (!wanted.on_message_publish) return
  emit(state, {
    event: 'on_message_publish',
    topic,
    retain: packet.retain === true,
    qos: packet.qos,
    from_username: publisher.username,
    from_client_id: publisher.clientId,
    payload,
  })
}

/** Keeps the publisher of messages that aedes hands to subscribers later without it (retained, queued). */
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
  const key = packet.payload as unknown
  if (packet.qos > 0 && publisher.clientId !== null && typeof key === 'object' && key !== null) {
    state.queuedPublishers.set(key, publisher)
  }
}
