/**
 * The bare HTTP clients the delivery benches measure against: the same body POSTed through one keep-alive
 * axios instance, or through one undici `Pool`. Each `post` throws unless the receiver answers 200.
 */
import { Agent } from 'node:http'
import axios from 'axios'
import { Pool } from 'undici'
import { PLAIN_REQUEST_LAYER } from '../src/delivery/sender.ts'

/** axios over its own http adapter with a keep-alive agent of `sockets` sockets, sending the text as is. */
export function createAxiosPoster(sockets: number): {
  post(url: string, body: string): Promise<void>
  destroy(): void
} {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets })
  const client = axios.create({ ...PLAIN_REQUEST_LAYER, httpAgent: agent })
  return {
    async post(url, body) {
      const response = await client.post(url, body, { headers: { 'content-type': 'application/json' } })
      if (response.status !== 200) throw new Error(`receiver answered ${response.status}`)
    },
    destroy: () => agent.destroy(),
  }
}

/** One undici `Pool` of `connections` connections to `url`'s origin, posting to its path. */
export function createUndiciPoster(
  url: string,
  connections: number,
): { post(body: string): Promise<void>; close(): Promise<void> } {
  const { origin, pathname } = new URL(url)
  const pool = new Pool(origin, { connections })
  return {
    async post(body) {
      const response = await pool.request({
        path: pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      await response.body.dump()
      if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}`)
    },
    close: () => pool.close(),
  }
}

/** `workers` workers taking requests from one counter until `count` are done. */
export async function concurrently(
  count: number,
  workers: number,
  request: () => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      await request()
    }
  }
  await Promise.all(Array.from({ length: workers }, worker))
}
