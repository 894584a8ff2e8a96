import type { Duplex } from 'node:stream'
import type { Webhook } from '../../webhook-types.ts'
import type { ObserverOptions } from './observer.ts'

/** A Duplex that passes `socket`'s bytes through unchanged in both directions and observes both. */
export function wrapStream(_socket: Duplex, _webhook: Webhook, _options: ObserverOptions = {}): Duplex {
  throw new Error('not implemented')
}
