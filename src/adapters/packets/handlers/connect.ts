import type { IConnectPacket } from 'mqtt-packet'
import { type ConnectionState, ownBytes } from '../state.ts'

/** CONNECT: remembers who the client is, and fires `on_client_connect` before the broker decides. */
export function handleConnect(state: ConnectionState, packet: IConnectPacket): void {
  state.connecting = true
  state.clientid = packet.clientId
  state.requestedId = packet.clientId
  state.username = packet.username
  state.protocolVersion = packet.protocolVersion ?? 4
  state.keepalive = packet.keepalive ?? 0
  state.clean = packet.clean ?? true
  state.sessionExpiry = packet.properties?.sessionExpiryInterval ?? 0
  state.sessions?.connect(state)
  // A will counts as published by its client (docs/events.md): if the broker ever sends it, it is theirs.
  if (packet.will !== undefined && state.origins !== undefined)
    state.origins.remember(packet.will.topic, ownBytes(packet.will.payload), state)
  if (!state.webhook.wants('on_client_connect')) return
  state.webhook.handle({
    event: 'on_client_connect',
    clientid: state.clientid,
    username: state.username,
    ipaddress: state.ipaddress,
    keepalive: state.keepalive,
    proto_ver: state.protocolVersion,
  })
}
