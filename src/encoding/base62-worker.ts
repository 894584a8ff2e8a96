/**
 * Worker thread entry: encodes large payloads in base62 away from the broker's event loop.
 * Requests are `{ id, payload }`; each gets `{ id, text }` or `{ id, error }` back, in any order.
 */
import { parentPort } from 'node:worker_threads'
import { encodeBase62 } from './base62.ts'

export interface Base62Request {
  id: number
  payload: Uint8Array
}

export type Base62Reply = { id: number; text: string } | { id: number; error: string }

parentPort?.on('message', ({ id, payload }: Base62Request) => {
  let reply: Base62Reply
  try {
    reply = { id, text: encodeBase62(payload) }
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) }
  }
  parentPort?.postMessage(reply)
})
