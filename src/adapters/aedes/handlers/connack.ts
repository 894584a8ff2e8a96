import type { Client, ConnackPacket } from 'aedes'
import { recordOf } from '../record.ts'
import { type AdapterState, emit, rememberUsername } from '../state.ts'
import { handleConnected } from './connected.ts'
import { endOfflineSession } from './terminated.ts'

/**
 * aedes wrote a CONNACK (`connackSent`), accepted or refused, the user's `authenticate` included. The
 * identity is the one aedes authenticated and registered: the username after `preConnect`, `client.id`
 * after `authenticate`.
 */
export function handleConnack(state: AdapterState, packet: ConnackPacket, client: Client): void {
  const record = recordOf(state, client)
  const accepted = packet.returnCode === 0
  record.connackSent = true
  // aedes refuses some CONNECTs (bad protocol, id, keepalive) before it sets `client.id`.
  const clientid = typeof client.id === 'string' ? client.id : record.requestedId
  if (accepted) {
    record.connected = true
    record.connectedAt = Date.now()
    state.usernamesByClient.set(client, record.username)
    rememberUsername(state, clientid, record.username)
    // A clean CONNECT made aedes wipe the stored session (`cleanSubscriptions`); a persistent one resumed it.
    if (record.clean) endOfflineSession(state, clientid, 'discarded')
    else state.offlineSessions.delete(clientid)
  }
  if (state.wanted.on_client_connack)
    emit(state, {
      event: 'on_client_connack',
      proto_ver: record.protoVer,
      keepalive: record.keepalive,
      conn_ack: accepted ? 'success' : 'fail',
      username: record.username,
      clientid,
    })
  if (accepted) handleConnected(state, client, record)
}
