import type { Client } from 'aedes'
import type { AdapterState, ClientRecord } from '../state.ts'
import { emit } from '../state.ts'

/** How a connection's session ended; `undefined` when the broker keeps it. */
export type SessionEnd = 'normal' | 'abnormal' | 'takeovered' | 'discarded' | undefined

/**
 * What became of the session of a connection aedes just closed, from what aedes did (EMQX's reasons):
 * - the broker closed it for a newer connection with the same id (`registerClient`): `discarded` when that
 *   connection asked for a clean session (aedes wipes the stored one), `takeovered` when it resumes and the
 *   old one was clean, nothing when a persistent session passes to a persistent connection;
 * - it ended on its own: a clean session ends with it (`normal` after DISCONNECT, `abnormal` otherwise); a
 *   persistent one is kept offline until a clean CONNECT with its id discards it.
 */
export function endSessionOf(state: AdapterState, record: ClientRecord, reason: 'normal' | 'abnormal'): void {
  const clientid = record.client.id
  const end = sessionEnd(record, state.takenOverBy.get(record.client), reason)
  if (end !== undefined) fire(state, clientid, record.username, end)
  else if (!record.clean && state.takenOverBy.get(record.client) === undefined)
    state.offlineSessions.set(clientid, record.username)
}

function sessionEnd(
  record: ClientRecord,
  taker: Client | undefined,
  reason: 'normal' | 'abnormal',
): SessionEnd {
  if (taker === undefined) return record.clean ? reason : undefined
  // `client.clean` is set by aedes from the CONNECT it registers, after the app's hooks.
  if (taker.clean !== false) return 'discarded'
  return record.clean ? 'takeovered' : undefined
}

/** A clean connection was accepted: aedes wiped the session its client id left offline, if any. */
export function endOfflineSession(state: AdapterState, clientid: string, reason: 'discarded'): void {
  if (!state.offlineSessions.has(clientid)) return
  const username = state.offlineSessions.get(clientid)
  state.offlineSessions.delete(clientid)
  fire(state, clientid, username, reason)
}

function fire(state: AdapterState, clientid: string, username: string | undefined, reason: string): void {
  if (!state.wanted.on_session_terminated) return
  emit(state, { event: 'on_session_terminated', clientid, username, reason })
}
