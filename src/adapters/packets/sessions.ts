import type { ConnectionState } from './state.ts'

/** A session the broker keeps while no connection holds it. */
interface OfflineSession {
  clientid: string
  username: string | undefined
  /** Ends it as `expired` when its MQTT 5 session expiry interval runs out; none for "never". */
  timer: NodeJS.Timeout | undefined
  state: ConnectionState
}

/** What a successful CONNACK ended. */
export interface Accepted {
  /** Connections the broker replaced by this one (MQTT-3.1.4-2): a takeover. */
  replaced: ConnectionState[]
  /** The session the client id had left offline, if the relay saw one. */
  offline: { clientid: string; username: string | undefined } | undefined
}

/** Most offline sessions remembered; past it the oldest is forgotten (its end will not be reported). */
export const MAX_OFFLINE_SESSIONS = 100_000

/** MQTT 5: a session expiry interval of 0xFFFFFFFF never expires. */
const NEVER = 0xffff_ffff

/** setTimeout's longest delay; longer expiries are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * What one connection does to another with the same client id, across the connections of one relay: one
 * connection's wire cannot show that the broker closed it for another, nor what became of its session.
 *
 * The broker's acts decide: a successful CONNACK for a client id replaces the connection that held it (the
 * broker must close that one), and its `sessionPresent` says whether the session went on. A connection that
 * closes without DISCONNECT while a CONNECT with its id awaits its CONNACK is settled by that CONNACK: a
 * takeover if it accepts, its own drop if it refuses. Entries are the connections themselves, found by the
 * client id they share; nothing outlives the connection but an offline session (bounded).
 */
export class ClientSessions {
  private readonly connecting = new Map<string, Set<ConnectionState>>()
  private readonly connected = new Map<string, Set<ConnectionState>>()
  /** Closed without DISCONNECT while a CONNECT with their id was pending: its CONNACK tells why. */
  private readonly undecided = new Map<string, ConnectionState[]>()
  private readonly offline = new Map<string, OfflineSession>()

  /** A CONNECT went by (its client id may still be empty: MQTT 5 assigns one in the CONNACK). */
  connect(state: ConnectionState): void {
    if (state.clientid === '') return
    add(this.connecting, state.clientid, state)
  }

  /** The broker accepted `state`: what that ended. The caller ends them before it reports `state` connected. */
  accept(state: ConnectionState, sessionPresent: boolean, requestedId: string): Accepted {
    remove(this.connecting, requestedId, state)
    const id = state.clientid
    const replaced: ConnectionState[] = []
    for (const holder of this.connected.get(id) ?? []) {
      // One that said DISCONNECT is leaving on its own; its close reports it.
      if (holder.disconnectedByClient) continue
      replaced.push(holder)
      remove(this.connected, id, holder)
    }
    const waiting = this.undecided.get(id)
    if (waiting !== undefined) {
      this.undecided.delete(id)
      replaced.push(...waiting)
    }
    const kept = this.offline.get(id)
    if (kept !== undefined) this.dropOffline(kept)
    add(this.connected, id, state)
    return {
      replaced,
      offline: kept === undefined || sessionPresent ? undefined : kept,
    }
  }

  /**
   * A connection ends before or without being accepted (refused, or closed before its CONNACK): the
   * connections that were waiting on its CONNACK ended on their own, once no other CONNECT for the id is pending.
   */
  refused(state: ConnectionState, requestedId: string): ConnectionState[] {
    remove(this.connecting, requestedId, state)
    if (this.connecting.has(requestedId)) return []
    const waiting = this.undecided.get(requestedId) ?? []
    this.undecided.delete(requestedId)
    return waiting
  }

  /**
   * A connected client's socket closed (the caller checked that it still `holds` its id). Returns true when
   * its end must wait: it sent no DISCONNECT and a CONNECT with its id is pending elsewhere, so the broker
   * may have closed it for that one.
   */
  closing(state: ConnectionState): boolean {
    const id = state.clientid
    remove(this.connected, id, state)
    if (state.disconnectedByClient || !this.connecting.has(id)) return false
    const waiting = this.undecided.get(id)
    if (waiting === undefined) this.undecided.set(id, [state])
    else waiting.push(state)
    return true
  }

  /** Whether `state` still holds its client id: false once a CONNACK replaced it (its end was reported then). */
  holds(state: ConnectionState): boolean {
    return this.connected.get(state.clientid)?.has(state) === true
  }

  /** A session outlives its connection: remember it until a CONNECT resumes or discards it, or it expires. */
  keepOffline(
    state: ConnectionState,
    expirySeconds: number,
    onExpired: (state: ConnectionState) => void,
  ): void {
    const id = state.clientid
    const previous = this.offline.get(id)
    if (previous !== undefined) this.dropOffline(previous)
    const session: OfflineSession = { clientid: id, username: state.username, timer: undefined, state }
    if (expirySeconds !== NEVER) {
      let remaining = expirySeconds * 1000
      const wait = () => {
        const step = Math.min(remaining, MAX_TIMER_MS)
        remaining -= step
        session.timer = setTimeout(() => {
          if (remaining > 0) return wait()
          if (this.offline.get(id) !== session) return
          this.offline.delete(id)
          onExpired(state)
        }, step)
        session.timer.unref()
      }
      wait()
    }
    this.offline.set(id, session)
    if (this.offline.size > MAX_OFFLINE_SESSIONS) {
      const oldest = this.offline.values().next().value
      if (oldest !== undefined) this.dropOffline(oldest)
    }
  }

  /** Forgets everything (the relay closes); no more events from here. */
  clear(): void {
    for (const session of this.offline.values()) clearTimeout(session.timer)
    this.offline.clear()
    this.connecting.clear()
    this.connected.clear()
    this.undecided.clear()
  }

  private dropOffline(session: OfflineSession): void {
    clearTimeout(session.timer)
    this.offline.delete(session.clientid)
  }
}

function add(map: Map<string, Set<ConnectionState>>, id: string, state: ConnectionState): void {
  const set = map.get(id)
  if (set === undefined) map.set(id, new Set([state]))
  else set.add(state)
}

function remove(map: Map<string, Set<ConnectionState>>, id: string, state: ConnectionState): void {
  const set = map.get(id)
  if (set === undefined) return
  set.delete(state)
  if (set.size === 0) map.delete(id)
}
