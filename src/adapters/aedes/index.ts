/**
 * The aedes 1.x adapter. Where each event comes from (one file per step in `handlers/`):
 *
 * | event | source |
 * |---|---|
 * | client_connect | `preConnect` (wrapped): CONNECT arrived, before authentication; the client id as sent (`''` if none) |
 * | client_connack | `connackSent`: `success`, or `fail` for any refusal, the user's `authenticate` included; username after `preConnect`, `client.id` after `authenticate` |
 * | client_connected | `connackSent` (success), right after client_connack; `connected_at` is when the CONNACK went out |
 * | client_disconnected | `clientDisconnect`: `normal` only if a DISCONNECT came (aedes' `_disconnected`) |
 * | client_subscribe | `authorizeSubscribe` (wrapped), per filter, before the decision; not for restored sessions |
 * | session_subscribed | `subscribe`, per filter the app's `authorizeSubscribe` granted: the filter and QoS it answered with (aedes' event keeps the packet's) |
 * | client_unsubscribe | the client's UNSUBSCRIBE, seen on aedes' packet parser (`_parser`) |
 * | session_unsubscribed | `unsubscribe`, for filters the client held; not the teardown of a closing clean session (EMQX) |
 * | session_terminated | a clean session's disconnect (its reason); a takeover, once `registerClient` closed the old connection (`discarded` by a clean one, `takeovered`); an offline session discarded by an accepted clean CONNECT |
 * | message_publish | `broker.publish` (wrapped), before routing, not `$SYS`; a will is from the dying client, server code from `null` |
 * | message_delivered | `authorizeForward` (wrapped), once per subscriber just before the write: live, retained, queued |
 * | message_acked | the subscriber's PUBACK / PUBCOMP on the packet parser, matched by packet id to what was delivered |
 *
 * Identity and state are kept per `Client` object, never per client-id string. The private fields and
 * `registerClient` are pinned by `test/aedes-private-fields.test.ts`.
 */
import type { Aedes, AedesPublishPacket, Client } from 'aedes'
import { HOOK_EVENT_NAMES, type HookEventName } from '../../events.ts'
import type { Webhook } from '../../webhook-types.ts'
import { handleConnack } from './handlers/connack.ts'
import { handleConnect } from './handlers/connect.ts'
import { handleDelivered } from './handlers/delivered.ts'
import { handleDisconnected } from './handlers/disconnected.ts'
import { handlePublished } from './handlers/publish.ts'
import { handleSubscribe, handleSubscribeDecision, handleSubscribed } from './handlers/subscribe.ts'
import { handleUnsubscribed } from './handlers/unsubscribe.ts'
import { adoptConnect, forget } from './record.ts'
import { type AdapterState, guarded, report, type Wanted } from './state.ts'

type HookName = 'preConnect' | 'authorizeSubscribe' | 'authorizeForward'

/**
 * Fires `webhook` from `broker`'s lifecycle: the twelve events of docs/events.md, from aedes' public events and
 * three of its hooks (`preConnect`, `authorizeSubscribe`, `authorizeForward`), which it chains: the hooks
 * the user set keep their decisions and their callbacks are called at once, untouched. It also wraps
 * `broker.publish` and `broker.registerClient`. Attach after setting your own hooks. Nothing the webhook does (throwing, a dead endpoint) reaches a client's session: problems
 * go to `webhook.reportError`.
 *
 * Returns `detach()`, which puts every hook and method back (the very same functions) and removes every listener. With
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
    decisions: new WeakMap(),
    takenOverBy: new WeakMap(),
    usernamesByClient: new WeakMap(),
    offlineSessions: new Map(),
    usernames: new Map(),
    retainedPublishers: new Map(),
    publishers: new WeakMap(),
  }
  const restoreHooks = chainHooks(state)
  const restoreMethods = wrapMethods(state)
  const removeListeners = listen(state)
  return () => {
    if (!state.active) return
    state.active = false
    removeListeners()
    restoreMethods()
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
      // The app's preConnect may rewrite the CONNECT; aedes then authenticates and uses what it left.
      original.preConnect.call(broker, client, packet, (error, successful) => {
        const record = state.active && !error && successful === true ? state.records.get(client) : undefined
        if (record) adoptConnect(record, packet)
        callback(error, successful)
      })
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
        if (!error && state.active) {
          try {
            handleSubscribeDecision(state, record, subscription, granted)
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

type Publish = (
  packet: AedesPublishPacket,
  client: Client | null | ((error?: Error) => void),
  done?: (error?: Error) => void,
) => void

/**
 * Wraps two broker methods, for the moments aedes' events come too late to tell: `publish`, where aedes
 * takes a message (its `publish` event comes only after every delivery), and `registerClient`, where it
 * closes the connection that held a client id for a newer, authenticated one (a takeover).
 * `registerClient` is not public API: pinned by `test/aedes-private-fields.test.ts`.
 */
function wrapMethods(state: AdapterState): () => void {
  const broker = state.broker as unknown as {
    publish: Publish
    registerClient?: (client: Client) => void
    clients?: Record<string, Client | undefined>
  }
  const published = guarded(state, handlePublished)
  const ownPublish = Object.hasOwn(broker, 'publish')
  const originalPublish = broker.publish
  const publish: Publish = function (this: unknown, packet, client, done) {
    if (state.active && packet !== null && typeof packet === 'object' && accepts(state.broker, packet.topic))
      published(packet, typeof client === 'function' ? null : client)
    return Reflect.apply(originalPublish, this, [packet, client, done])
  }
  const { wanted } = state
  // Unwrapped when no message event is wanted: publishing costs nothing more then.
  if (wanted.on_message_publish || wanted.on_message_delivered || wanted.on_message_acked)
    broker.publish = publish

  const ownRegister = Object.hasOwn(broker, 'registerClient')
  const originalRegister = broker.registerClient
  const register = function (this: unknown, client: Client) {
    const clients = broker.clients
    // Own keys only: a client id such as `__proto__` must not find Object.prototype.
    const holder = clients && Object.hasOwn(clients, client.id) ? clients[client.id] : undefined
    // One already closing left on its own: aedes only waits for it.
    if (state.active && holder && holder !== client && !holder.closed) state.takenOverBy.set(holder, client)
    return Reflect.apply(originalRegister as (client: Client) => void, this, [client])
  }
  if (typeof originalRegister === 'function') broker.registerClient = register
  else
    report(
      state,
      new Error('aedes adapter: broker.registerClient is gone (aedes changed); takeovers look like drops'),
    )

  return () => {
    if (broker.publish === publish) {
      if (ownPublish) broker.publish = originalPublish
      else delete (broker as { publish?: unknown }).publish
    }
    if (broker.registerClient === register) {
      if (ownRegister) broker.registerClient = originalRegister
      else delete (broker as { registerClient?: unknown }).registerClient
    }
  }
}

/** Whether aedes will take a message for this topic: it refuses one deeper than its `maxTopicLevels`. */
function accepts(broker: Aedes, topic: unknown): boolean {
  const max = (broker as unknown as { maxTopicLevels?: unknown }).maxTopicLevels
  if (typeof max !== 'number' || typeof topic !== 'string') return true
  let levels = 1
  for (let i = 0; i < topic.length && levels <= max; i++) if (topic.charCodeAt(i) === 0x2f) levels++
  return levels <= max
}

/** aedes' public events; each listener is one lifecycle step, guarded. */
function listen(state: AdapterState): () => void {
  const { broker } = state
  const listeners = [
    ['connackSent', guarded(state, handleConnack)],
    ['clientDisconnect', guarded(state, handleDisconnected)],
    ['subscribe', guarded(state, handleSubscribed)],
    ['unsubscribe', guarded(state, handleUnsubscribed)],
  ] as const
  for (const [name, listener] of listeners) broker.on(name as 'publish', listener as never)
  return () => {
    for (const [name, listener] of listeners) broker.off(name, listener as never)
  }
}
