import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Webhook, WebhookStats } from '../webhook-types.ts'
import { formatHost, UsageError } from './args.ts'
import { listen } from './service.ts'

/** Past this share of `max_queue` waiting, `/healthz` answers 503: events are about to be dropped. */
export const QUEUE_UNHEALTHY_SHARE = 0.9

export interface Health {
  ok: boolean
  /** Why not, one phrase each; empty when ok. */
  problems: string[]
}

/** Unhealthy while the queue is over 90% of `maxQueue` or the endpoint is paused (circuit open). */
export function checkHealth(stats: WebhookStats, maxQueue: number): Health {
  const problems: string[] = []
  if (stats.queued > QUEUE_UNHEALTHY_SHARE * maxQueue)
    problems.push(`queue over ${QUEUE_UNHEALTHY_SHARE * 100}% full (${stats.queued} of ${maxQueue})`)
  if ((stats as { paused?: boolean }).paused === true)
    problems.push('endpoint paused (Retry-After or circuit open)')
  return { ok: problems.length === 0, problems }
}

export interface MetricsServerOptions {
  webhook: Webhook
  /** The webhook's `max_queue`, for `/healthz`. */
  maxQueue: number
  host: string
  /** 0 picks a free port. */
  port: number
}

export interface RunningMetricsServer {
  /** `http://HOST:PORT` */
  url: string
  close(): Promise<void>
}

/**
 * `GET /metrics`: Prometheus text exposition of the webhook's metrics and the process's (prom-client's
 * defaults). `GET /healthz`: 200 `{"status":"ok"}`, or 503 with the problems.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const promClient = await import('prom-client').catch(() => {
    throw new UsageError('--metrics-port needs prom-client: npm install prom-client')
  })
  const { registerWebhookMetrics } = await import('../metrics.ts')
  const registry = new promClient.Registry()
  promClient.collectDefaultMetrics({ register: registry })
  registerWebhookMetrics(options.webhook, { registry })
  const sockets = new Set<Socket>()
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      )
    } else if (path === '/healthz') {
      const health = checkHealth(options.webhook.stats(), options.maxQueue)
      const body = health.ok ? { status: 'ok' } : { status: 'unhealthy', problems: health.problems }
      response
        .writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(body)}\n`)
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n')
    }
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await listen(server, options.host, options.port)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${formatHost(options.host)}:${port}`,
    async close() {
      const closed = once(server, 'close')
      server.close()
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
