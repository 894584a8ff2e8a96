import type { Client } from 'aedes'
import type { IUnsubscribePacket } from 'mqtt-packet'
import { recordOf } from '../record.ts'
import { type AdapterState, type ClientRecord, emit } from '../state.ts'

/** An UNSUBSCRIBE arrived (seen on the client's packet parser, before aedes acts on it): one event per filter. */
export function handleInboundUnsubscribe(
  state: AdapterState,
  record: ClientRecord,
  packet: IUnsubscribePacket,
): void {
  for (const topic of packet.unsubscriptions) {
    emit(state, {
      event: 'on_client_unsubscribe',
      clientid: record.client.id ?? record.requestedId,
      username: record.username,
      topic,
      opts: {},
    })
  }
}

/**
 * aedes removed subscriptions (`unsubscribe`). It emits this too when a clean session's connection closes;
 * like EMQX, that teardown is no `session_unsubscribed` (the session ends: `session_terminated`). Filters
 * the client did not hold are not reported either.
 */
export function handleUnsubscribed(state: AdapterState, filters: string[], client: Client): void {
  if (client.closed) return
  const record = recordOf(state, client)
  for (const topic of filters) {
    if (!record.subscriptions.delete(topic)) continue
    if (!state.wanted.on_session_unsubscribed) continue
    emit(state, {
      event: 'on_session_unsubscribed',
      clientid: client.id,
      username: record.username,
      topic,
    })
  }
}
