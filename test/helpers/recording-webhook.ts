import { EventEmitter } from 'node:events'
import { HOOK_EVENT_NAMES, type HookEvent, type HookEventName } from '../../src/events.ts'
import type { Webhook, WebhookEvents, WebhookStats } from '../../src/webhook-types.ts'

/** A `Webhook` that records what an adapter hands it, for tests that check events rather than bodies. */
export interface RecordingWebhook extends Webhook {
  events: HookEvent[]
  errors: Error[]
  /** Resolves once `predicate` holds over the recorded events; rejects after `timeoutMs`. */
  waitFor(predicate: (events: HookEvent[]) => boolean, timeoutMs?: number): Promise<void>
}

/** Records every event it is handed; `wanted` limits what `wants()` answers yes to. */
export function recordingWebhook(wanted: readonly HookEventName[] = HOOK_EVENT_NAMES): RecordingWebhook {
  const emitter = new EventEmitter()
  const wantedSet = new Set(wanted)
  const events: HookEvent[] = []
  const errors: Error[] = []
  const changed = new EventEmitter()
  const webhook: RecordingWebhook = {
    events,
    errors,
    handle(event) {
      events.push(event)
      changed.emit('change')
    },
    stats(): WebhookStats {
      return {
        matched: events.length,
        queued: 0,
        queued_bytes: 0,
        inflight: 0,
        success: 0,
        failed: 0,
        retried: 0,
        dropped: 0,
        dropped_by_reason: { queue_full: 0, queue_bytes_full: 0, closed: 0 },
        events: {},
      }
    },
    flush: async () => {},
    close: async () => {},
    replay: () => 0,
    on(name, listener) {
      emitter.on(name, listener as (...args: unknown[]) => void)
      return this
    },
    once(name, listener) {
      emitter.once(name, listener as (...args: unknown[]) => void)
      return this
    },
    off(name, listener) {
      emitter.off(name, listener as (...args: unknown[]) => void)
      return this
    },
    reportError(error) {
      errors.push(error)
      changed.emit('change')
      if (emitter.listenerCount('error') > 0) emitter.emit('error', error satisfies WebhookEvents['error'][0])
    },
    wants: (name) => wantedSet.has(name),
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(events)) return
          clearTimeout(timer)
          changed.off('change', check)
          resolve()
        }
        const timer = setTimeout(() => {
          changed.off('change', check)
          reject(
            new Error(
              `waitFor: not met after ${timeoutMs} ms; events: ${JSON.stringify(events.map((e) => e.event))}; errors: ${errors.map((e) => e.message).join(' | ')}`,
            ),
          )
        }, timeoutMs)
        changed.on('change', check)
        check()
      })
    },
  }
  return webhook
}
