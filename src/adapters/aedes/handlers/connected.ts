import type { Client } from 'aedes'
import { recordOf } from '../record.ts'
import { type AdapterState, emit } from '../state.ts'

/** The session is up and the CONNACK is out (`clientReady`). */
export function handleConnected(state: AdapterState, client: Client): void {
  if (!state.wanted.on_client_connected) return
  const record = recordOf(state, client)
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
