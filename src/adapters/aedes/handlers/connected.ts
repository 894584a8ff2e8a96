import type { Client } from 'aedes'
import { type AdapterState, type ClientRecord, emit } from '../state.ts'

/**
 * The session is up: aedes sent a successful CONNACK. Fired from `connackSent`, not `clientReady`: aedes
 * emits that only once the offline queue is flushed, which may be after the client is gone again.
 */
export function handleConnected(state: AdapterState, client: Client, record: ClientRecord): void {
  if (!state.wanted.on_client_connected) return
  emit(state, {
    event: 'on_client_connected',
    clientid: client.id,
    username: record.username,
    ipaddress: record.ipaddress,
    keepalive: record.keepalive,
    proto_ver: record.protoVer,
    connected_at: record.connectedAt,
  })
}
