import type { AdapterState, ClientRecord } from '../state.ts'
import { emit } from '../state.ts'

/**
 * Ends the session of a client that just disconnected, when it does not outlive the connection. MQTT 3.1.1
 * reasons, after EMQX: the disconnect's own (`normal`/`abnormal`) for a clean session, `takeovered` when a
 * new connection with the same id resumes it, `discarded` when that connection asked for a clean session.
 * A persistent session taken over by a persistent connection goes on: no event.
 */
export function endSessionOf(state: AdapterState, record: ClientRecord, reason: 'normal' | 'abnormal'): void {
  const clientid = record.client.id
  const taker = state.connecting.get(clientid)
  const takenOver = taker !== undefined && taker !== record
  if (takenOver && taker.clean) {
    state.persistentSessions.delete(clientid)
    fire(state, clientid, record.username, 'discarded')
  } else if (record.clean) {
    fire(state, clientid, record.username, takenOver ? 'takeovered' : reason)
  }
}

/** A clean connection wipes the persistent session its client id left behind, if any. */
export function endDiscardedSession(state: AdapterState, clientid: string): void {
  if (!state.persistentSessions.has(clientid)) return
  const username = state.persistentSessions.get(clientid)
  state.persistentSessions.delete(clientid)
  fire(state, clientid, username, 'discarded')
}

/** A persistent session is kept while its client is away, until a clean connection discards it. */
export function rememberSession(state: AdapterState, clientid: string, username: string | undefined): void {
  state.persistentSessions.set(clientid, username)
}

function fire(state: AdapterState, clientid: string, username: string | undefined, reason: string): void {
  if (!state.wanted.on_session_terminated) return
  emit(state, { event: 'on_session_terminated', clientid, username, reason })
}
