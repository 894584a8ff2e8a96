import type { ConnectionState } from '../state.ts'

/** How the connection that replaced a client's connection was accepted. */
export interface Taker {
  /** Its CONNACK's `sessionPresent`: the session went on in it. */
  sessionPresent: boolean
  /** It asked for a clean session (MQTT 3.1.1 clean session, MQTT 5 clean start). */
  cleanStart: boolean
}

/**
 * The connection ended. A connected client fires `on_client_disconnected`, then `on_session_terminated`
 * when its session ends with it (clean session, or v5 session expiry 0). On a relay, a close without
 * DISCONNECT while a CONNECT with the same client id awaits its CONNACK waits for that CONNACK (the broker
 * may have closed it for the newcomer); one the broker already replaced was reported then.
 */
export function handleClose(state: ConnectionState): void {
  if (state.closed) return
  state.closed = true
  clear(state)
  const { sessions } = state
  if (!state.connected) {
    if (state.connecting && sessions !== undefined)
      for (const waiting of sessions.refused(state, state.requestedId)) endOwn(waiting)
    return
  }
  if (sessions !== undefined) {
    if (!sessions.holds(state)) return
    if (sessions.closing(state)) return
  }
  endOwn(state)
}

/** A connected client left on its own: `normal` after its DISCONNECT, else `abnormal`. */
export function endOwn(state: ConnectionState): void {
  endConnection(state, undefined)
}

/**
 * Fires a connected client's end: `on_client_disconnected`, then its session's fate. Replaced by `taker`: the
 * session went on if the taker's CONNACK said so, else it was `discarded` by a clean start or `takeovered`.
 */
export function endConnection(state: ConnectionState, taker: Taker | undefined): void {
  state.closed = true
  clear(state)
  const reason = state.disconnectedByClient ? 'normal' : 'abnormal'
  const { webhook } = state
  if (webhook.wants('on_client_disconnected'))
    webhook.handle({
      event: 'on_client_disconnected',
      reason,
      username: state.username,
      clientid: state.clientid,
    })
  if (taker !== undefined) {
    if (!taker.sessionPresent)
      sessionTerminated(state, state.clientid, state.username, taker.cleanStart ? 'discarded' : 'takeovered')
    return
  }
  const expiry = state.protocolVersion === 5 ? state.sessionExpiry : state.clean ? 0 : 0xffff_ffff
  if (expiry === 0) sessionTerminated(state, state.clientid, state.username, reason)
  else
    state.sessions?.keepOffline(state, expiry, (gone) =>
      sessionTerminated(gone, gone.clientid, gone.username, 'expired'),
    )
}

export function sessionTerminated(
  state: ConnectionState,
  clientid: string,
  username: string | undefined,
  reason: string,
): void {
  if (!state.webhook.wants('on_session_terminated')) return
  state.webhook.handle({ event: 'on_session_terminated', clientid, username, reason })
}

function clear(state: ConnectionState): void {
  state.inflight.clear()
  state.pendingSubscribes.clear()
  state.pendingUnsubscribes.clear()
}
