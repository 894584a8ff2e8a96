import type { Client, ConnackPacket } from 'aedes'
import { recordOf } from '../record.ts'
import { type AdapterState, emit, rememberUsername } from '../state.ts'
import { endDiscardedSession, rememberSession } from './terminated.ts'

/** aedes wrote a CONNACK (`connackSent`), accepted or refused, the user's `authenticate` included. */
export function handleConnack(state: AdapterState, packet: ConnackPacket, client: Client): void {
  const record = recordOf(state, client)
  const accepted = packet.returnCode === 0
  record.connackSent = true
  if (state.connecting.get(record.requestedId) === record) state.connecting.delete(record.requestedId)
  // aedes refuses some CONNECTs (bad protocol, id, keepalive) before it sets `client.id`.
  const clientid = typeof client.id === 'string' ? client.id : record.requestedId
  if (accepted) {
    record.connected = true
    record.connectedAt = Date.now()
    rememberUsername(state, clientid, record.username)
    if (record.clean) endDiscardedSession(state, clientid)
    else rememberSession(state, clientid, record.username)
  }
  if (!state.wanted.on_client_connack) return
  emit(state, {
    event: 'on_client_connack',
    proto_ver: record.protoVer,
    keepalive: record.keepalive,
    conn_ack: accepted ? 'success' : 'fail',
    username: record.username,
    clientid,
  })
}
