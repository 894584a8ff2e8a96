import type { Client } from 'aedes'
import { forget, recordOf } from '../record.ts'
import { type AdapterState, emit, sentDisconnect } from '../state.ts'
import { endSessionOf } from './terminated.ts'

/**
 * A connected client is gone (`clientDisconnect`): `normal` only when it sent DISCONNECT, `abnormal` after
 * a dropped socket, a keepalive timeout or a takeover. aedes emits nothing for refused logins, and nor do we.
 */
export function handleDisconnected(state: AdapterState, client: Client): void {
  const record = recordOf(state, client)
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
