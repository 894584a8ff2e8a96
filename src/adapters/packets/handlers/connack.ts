import type { IConnackPacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/** CONNACK: `success` only for return/reason code 0; a success also fires `on_client_connected`. */
export function handleConnack(state: ConnectionState, packet: IConnackPacket): void {
  if (!state.connecting || state.connected) return
  const code = state.protocolVersion === 5 ? (packet.reasonCode ?? 0) : (packet.returnCode ?? 0)
  const success = code === 0
  // An MQTT 5 client that connected with an empty id learns its id from the CONNACK.
  const assigned = packet.properties?.assignedClientIdentifier
  if (success && state.clientid === '' && assigned !== undefined) state.clientid = assigned
  const { webhook } = state
  if (webhook.wants('on_client_connack'))
    webhook.handle({
      event: 'on_client_connack',
      proto_ver: state.protocolVersion,
      keepalive: state.keepalive,
      conn_ack: success ? 'success' : 'fail',
      clientid: state.clientid,
      username: state.username,
    })
  if (!success) return
  state.connected = true
  if (webhook.wants('on_client_connected'))
    webhook.handle({
      event: 'on_client_connected',
      clientid: state.clientid,
      username: state.username,
      ipaddress: state.ipaddress,
      keepalive: state.keepalive,
      proto_ver: state.protocolVersion,
      connected_at: Date.now(),
    })
}
