import type { Aedes } from 'aedes'
import type { Webhook } from '../../webhook-types.ts'

/** Fires `webhook` from `broker`'s lifecycle; returns a function that restores the broker as it was. */
export function attachAedes(_broker: Aedes, _webhook: Webhook): () => void {
  throw new Error('not implemented')
}
