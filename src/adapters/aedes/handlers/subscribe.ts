import type { Client, Subscription } from 'aedes'
import type { QoS } from '../../../events.ts'
import { recordOf } from '../record.ts'
import { type AdapterState, type ClientRecord, emit } from '../state.ts'

/**
 * aedes asks `authorizeSubscribe` about one filter, before it decides: `client_subscribe`. During CONNECT it
 * asks again about the filters of a persistent session it restores; those are no client request.
 */
export function handleSubscribe(
  state: AdapterState,
  client: Client,
  subscription: Subscription,
): ClientRecord {
  const record = recordOf(state, client)
  if (record.connackSent && state.wanted.on_client_subscribe) {
    emit(state, {
      event: 'on_client_subscribe',
      clientid: client.id,
      username: record.username,
      topic: subscription.topic,
      opts: { qos: clampQos(subscription.qos) },
    })
  }
  return record
}

/** The user's `authorizeSubscribe` answered: remember what the subscription really is (restored ones too). */
export function handleSubscribeDecision(
  record: ClientRecord,
  granted: Subscription | null | undefined,
): void {
  if (granted && typeof granted === 'object' && typeof granted.topic === 'string') {
    record.subscriptions.set(granted.topic, clampQos(granted.qos))
  }
}

/** aedes granted a SUBSCRIBE (`subscribe`, with the granted QoS; 128 is a refusal): `session_subscribed` per granted filter. */
export function handleSubscribed(state: AdapterState, subscriptions: Subscription[], client: Client): void {
  if (!state.wanted.on_session_subscribed) return
  const record = recordOf(state, client)
  for (const subscription of subscriptions) {
    if ((subscription.qos as number) === 128) continue
    emit(state, {
      event: 'on_session_subscribed',
      clientid: client.id,
      username: record.username,
      topic: subscription.topic,
      opts: { qos: clampQos(subscription.qos) },
    })
  }
}

function clampQos(qos: unknown): QoS {
  return qos === 1 || qos === 2 ? qos : 0
}
