/**
 * The aedes 1.x adapter. Where each event comes from (one file per step in `handlers/`):
 *
 * | event | source |
 * |---|---|
 * | client_connect | `preConnect` (wrapped): CONNECT arrived, before authentication; the client id as sent (`''` if none) |
 * | client_connack | `connackSent`: `success`, or `fail` for any refusal, the user's `authenticate` included |
 * | client_connected | `clientReady`; `connected_at` is when the CONNACK went out |
 * | client_disconnected | `clientDisconnect`: `normal` only if a DISCONNECT came (aedes' `_disconnected`) |
 * | client_subscribe | `authorizeSubscribe` (wrapped), per filter, before the decision; not for restored sessions |
 * | session_subscribed | `subscribe`: the granted filters, with the granted QoS |
 * | client_unsubscribe | the client's UNSUBSCRIBE, seen on aedes' packet parser (`_parser`) |
 * | session_unsubscribed | `unsubscribe`, for filters the client held; not the teardown of a closing clean session (EMQX) |
 * | session_terminated | a clean session's disconnect (its reason), a takeover (`takeovered`), a discard by a clean connection (`discarded`) |
 * | message_publish | `publish`, not `$SYS`; a will is from the dying client, `broker.publish` from `null` |
 * | message_delivered | `authorizeForward` (wrapped), once per subscriber just before the write: live, retained, queued |
 * | message_acked | the subscriber's PUBACK / PUBCOMP on the packet parser, matched to what was delivered |
 *
 * The two private fields are pinned by `test/aedes-private-fields.test.ts`.
 */
import type { Aedes } from 'aedes'
import { HOOK_EVENT_NAMES, type HookEventName } from '../../events.ts'
import type { Webhook } from '../../webhook-types.ts'
import { handleConnack } from './handlers/connack.ts'
import { handleConnect } from './handlers/connect.ts'
import { handleConnected } from './handlers/connected.ts'
import { handleDelivered } from './handlers/delivered.ts'
import { handleDisconnected } from './handlers/disconnected.ts'
import { handlePublished } from './handlers/publish.ts'
import { handleSubscribe, handleSubscribeDecision, handleSubscribed } from './handlers/subscribe.ts'
import { handleUnsubscribed } from './handlers/unsubscribe.ts'
import { forget } from './record.ts'
import { type AdapterState, guarded, report, type Wanted } from './state.ts'

type HookName = 'preConnect' | 'authorizeSubscribe' | 'authorizeForward'

/**
 * Fires `webhook` from `broker`'s lifecycle: the twelve events of docs/events.md, from aedes' public events and
 * three of its hooks (`preConnect`, `authorizeSubscribe`, `authorizeForward`), which it chains: the hooks
 * the user set keep their decisions and their callbacks are called at once, untouched. Attach after setting
 * your own hooks. Nothing the webhook does (throwing, a dead endpoint) reaches a client's session: problems
 * go to `webhook.reportError`.
 *
 * Returns `detach()`, which puts every hook back (the very same functions) and removes every listener. With
 * several webhooks attached, detach in reverse order to restore the hooks exactly; out of order, the
 * detached webhook's wrappers stay in place but do nothing.
 */
export function attachAedes(broker: Aedes, webhook: Webhook): () => void {
  const state: AdapterState = {
    broker,
    webhook,
    wanted: wantedBy(webhook),
    active: true,
    records: new Map(),
    connecting: new Map(),
    persistentSessions: new Map(),
    usernames: new Map(),
    retainedPublishers: new Map(),
    queuedPublishers: new WeakMap(),
  }
  const restoreHooks = chainHooks(state)
  const removeListeners = listen(state)
  return () => {
    if (!state.active) return
    state.active = false
    removeListeners()
    restoreHooks()
    for (const record of [...state.records.values()]) forget(state, record)
  }
}

/** Asked once: the configuration of a webhook does not change. One whose `wants` throws gets every event. */
function wantedBy(webhook: Webhook): Wanted {
  const wanted = {} as Record<HookEventName, boolean>
  for (const name of HOOK_EVENT_NAMES) {
    try {
      wanted[name] = webhook.wants(name)
    } catch {
      wanted[name] = true
    }
  }
  return wanted
}

/** Wraps the three hooks; our part runs first and is guarded, then the user's hook decides, as before. */
function chainHooks(state: AdapterState): () => void {
  const { broker } = state
  const original = {
    preConnect: broker.preConnect,
    authorizeSubscribe: broker.authorizeSubscribe,
    authorizeForward: broker.authorizeForward,
  }
  const connect = guarded(state, handleConnect)
  const delivered = guarded(state, handleDelivered)
  const forwardWatched = state.wanted.on_message_delivered || state.wanted.on_message_acked

  const wrappers: Pick<Aedes, HookName> = {
    preConnect(client, packet, callback) {
      connect(client, packet)
      original.preConnect.call(broker, client, packet, callback)
    },
    authorizeSubscribe(client, subscription, callback) {
      if (!state.active) return original.authorizeSubscribe.call(broker, client, subscription, callback)
      let record: ReturnType<typeof handleSubscribe> | undefined
      try {
        record = handleSubscribe(state, client, subscription)
      } catch (error) {
        report(state, error)
      }
      original.authorizeSubscribe.call(broker, client, subscription, (error, granted) => {
        if (record && !error && state.active) {
          try {
            handleSubscribeDecision(record, granted)
          } catch (failure) {
            report(state, failure)
          }
        }
        callback(error, granted)
      })
    },
    authorizeForward(client, packet) {
      const forwarded = original.authorizeForward.call(broker, client, packet)
      if (forwarded && forwardWatched) delivered(client, forwarded)
      return forwarded
    },
  }
  broker.preConnect = wrappers.preConnect
  broker.authorizeSubscribe = wrappers.authorizeSubscribe
  broker.authorizeForward = wrappers.authorizeForward

  return () => {
    // Someone who wrapped our wrapper after us keeps it; ours then passes straight through (state.active).
    if (broker.preConnect === wrappers.preConnect) broker.preConnect = original.preConnect
    if (broker.authorizeSubscribe === wrappers.authorizeSubscribe) {
      broker.authorizeSubscribe = original.authorizeSubscribe
    }
    if (broker.authorizeForward === wrappers.authorizeForward)
      broker.authorizeForward = original.authorizeForward
  }
}

/** aedes' public events; each listener is one lifecycle step, guarded. */
function listen(state: AdapterState): () => void {
  const { broker } = state
  const listeners = [
    ['connackSent', guarded(state, handleConnack)],
    ['clientReady', guarded(state, handleConnected)],
    ['clientDisconnect', guarded(state, handleDisconnected)],
    ['subscribe', guarded(state, handleSubscribed)],
    ['unsubscribe', guarded(state, handleUnsubscribed)],
    ['publish', guarded(state, handlePublished)],
  ] as const
  for (const [name, listener] of listeners) broker.on(name as 'publish', listener as never)
  return () => {
    for (const [name, listener] of listeners) broker.off(name, listener as never)
  }
}
