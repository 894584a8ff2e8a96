import type { IConnackPacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'
import { endConnection, endOwn, sessionTerminated } from './close.ts'

/**
 * CONNACK: `success` only for return/reason code 0; a success also fires `on_client_connected`. Before
 * that, on a relay, the connections this one replaced end (a takeover), and a session its client id left
 * offline ends if the broker did not resume it: the broker's acts, in the order it did them.
 */
export function handleConnack(state: ConnectionState, packet: IConnackPacket): void {
  if (!state.connecting || state.connected) return
  const code = state.protocolVersion === 5 ? (packet.reasonCode ?? 0) : (packet.returnCode ?? 0)
  const success = code === 0
  // An MQTT 5 client that connected with an empty id learns its id from the CONNACK.
  const assigned = packet.properties?.assignedClientIdentifier
  if (success && state.clientid === '' && assigned !== undefined) state.clientid = assigned
  // The broker may grant another session expiry than the client asked for.
  const expiry = packet.properties?.sessionExpiryInterval
  if (success && expiry !== undefined) state.sessionExpiry = expiry
  const { webhook, sessions } = state
  if (success && sessions !== undefined) {
    const sessionPresent = packet.sessionPresent === true
    const { replaced, offline } = sessions.accept(state, sessionPresent, state.requestedId)
    const taker = { sessionPresent, cleanStart: state.clean }
    for (const old of replaced) endConnection(old, taker)
    if (offline !== undefined && state.clean)
      sessionTerminated(state, offline.clientid, offline.username, 'discarded')
  } else if (!success && sessions !== undefined) {
    for (const waiting of sessions.refused(state, state.requestedId)) endOwn(waiting)
  }
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
