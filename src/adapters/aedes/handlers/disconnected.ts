import type { Client } from 'aedes'
import { forget, recordOf } from '../record.ts'
import { type AdapterState, emit, sentDisconnect } from '../state.ts'
import { endSessionOf } from './terminated.ts'

/**
 * A connected client is gone (`clientDisconnect`): `normal` only when it sent DISCONNECT, `abnormal` after
 * a dropped socket, a keepalive timeout or a takeover. aedes emits nothing for refused logins, and nor do we;
 * nor for a connection it closed between authentication and CONNACK (it may emit `clientDisconnect` for one).
 */
export function handleDisconnected(state: AdapterState, client: Client): void {
  const known = state.records.get(client)
  if (known !== undefined && !known.connected) return
  const record = known ?? recordOf(state, client)
  const reason = sentDisconnect(client) ? 'normal' : 'abnormal'
  try {
    if (state.wanted.on_client_disconnected) {
      emit(state, {
        event: 'on_client_disconnected',
        reason,
        username: record.username,
        clientid: client.id,
      })
    }
    endSessionOf(state, record, reason)
  } finally {
    forget(state, record)
  }
}
