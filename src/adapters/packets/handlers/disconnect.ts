import type { IDisconnectPacket } from 'mqtt-packet'
import type { ConnectionState } from '../state.ts'

/** Inbound DISCONNECT: the end will be `normal`; a v5 client may change its session expiry on the way out. */
export function handleDisconnect(state: ConnectionState, packet: IDisconnectPacket): void {
  state.disconnectedByClient = true
  const expiry = packet.properties?.sessionExpiryInterval
  if (expiry !== undefined) state.sessionExpiry = expiry
}
