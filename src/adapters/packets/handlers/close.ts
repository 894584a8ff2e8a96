import type { ConnectionState } from '../state.ts'

/**
 * The connection ended: `on_client_disconnected` for a client that was connected, then
 * `on_session_terminated` when its session ends with it (clean session, or v5 session expiry 0).
 */
export function handleClose(state: ConnectionState): void {
  if (state.closed) return
  state.closed = true
  state.inflight.clear()
  state.pendingSubscribes.clear()
  state.pendingUnsubscribes.clear()
  if (!state.connected) return
  const reason = state.disconnectedByClient ? 'normal' : 'abnormal'
  const { webhook } = state
  if (webhook.wants('on_client_disconnected'))
    webhook.handle({
      event: 'on_client_disconnected',
      reason,
      username: state.username,
      clientid: state.clientid,
    })
  const sessionEnds = state.protocolVersion === 5 ? state.sessionExpiry === 0 : state.clean
  if (sessionEnds && webhook.wants('on_session_terminated'))
    webhook.handle({
      event: 'on_session_terminated',
      clientid: state.clientid,
      username: state.username,
      reason,
    })
}
