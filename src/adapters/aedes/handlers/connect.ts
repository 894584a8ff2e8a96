import type { Client, ConnectPacket } from 'aedes'
import { openRecord } from '../record.ts'
import { type AdapterState, emit } from '../state.ts'

/** CONNECT arrived (aedes' `preConnect`, before authentication): remember who it is, fire `client_connect`. */
export function handleConnect(state: AdapterState, client: Client, packet: ConnectPacket): void {
  const record = openRecord(state, client, packet)
  if (!state.wanted.on_client_connect) return
  // EMQX fires this before the broker assigns an id, so an empty client id stays empty here.
  emit(state, {
    event: 'on_client_connect',
    clientid: record.requestedId,
    username: record.username,
    ipaddress: record.ipaddress,
    keepalive: record.keepalive,
    proto_ver: record.protoVer,
  })
}
