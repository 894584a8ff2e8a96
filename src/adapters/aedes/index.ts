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
 * Fires `webhook` from `broker`'s lifecycle: the twelve events of SPEC §4, from aedes' public events and
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
