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

/**
 * The app's `authorizeSubscribe` answered about `asked`: what aedes subscribes is `granted` (a falsy answer
 * refuses), so it is noted now, copied, since a hook may return the filter it was asked about, changed.
 * Restored filters too, for the QoS of later deliveries.
 */
export function handleSubscribeDecision(
  state: AdapterState,
  record: ClientRecord | undefined,
  asked: Subscription,
  granted: Subscription | null | undefined,
): void {
  // aedes refuses whatever is not an object (its storeSubscriptions); a grant without a string topic fails its subscribe.
  const decision =
    granted && typeof granted === 'object' && typeof granted.topic === 'string'
      ? { topic: granted.topic, qos: clampQos(granted.qos) }
      : null
  if (asked !== null && typeof asked === 'object') state.decisions.set(asked, decision)
  if (record && decision) record.subscriptions.set(decision.topic, decision.qos)
}

/**
 * aedes subscribed a SUBSCRIBE's filters (`subscribe`, handing back the packet's filter objects, with the QoS
 * asked for or 128 for a refusal): `session_subscribed` per filter granted, as the app's hook granted it.
 */
export function handleSubscribed(state: AdapterState, subscriptions: Subscription[], client: Client): void {
  if (!state.wanted.on_session_subscribed) return
  const record = recordOf(state, client)
  for (const subscription of subscriptions) {
    const decision = state.decisions.get(subscription)
    // No decision noted (the hook answered while this adapter was not yet attached): aedes' own account.
    const granted =
      decision === undefined
        ? (subscription.qos as number) === 128
          ? null
          : { topic: subscription.topic, qos: clampQos(subscription.qos) }
        : decision
    if (!granted) continue
    emit(state, {
      event: 'on_session_subscribed',
      clientid: client.id,
      username: record.username,
      topic: granted.topic,
      opts: { qos: granted.qos },
    })
  }
}

function clampQos(qos: unknown): QoS {
  return qos === 1 || qos === 2 ? qos : 0
}
