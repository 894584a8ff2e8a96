import { once } from 'node:events'
import { createServer } from 'node:net'
import type { TestContext } from 'node:test'
import type { WebhookConfig } from '../../src/config-types.ts'
import type {
  ClientConnackEvent,
  ClientDisconnectedEvent,
  HookEvent,
  MessagePublishEvent,
} from '../../src/events.ts'
import { createWebhook } from '../../src/webhook.ts'
import type {
  DeliveredReport,
  DroppedReport,
  FailedReport,
  Webhook,
  WebhookEvents,
  WebhookOptions,
} from '../../src/webhook-types.ts'

/** A publish from `client` whose payload (and so whose body) names `n`, with a fixed `ts`. */
export function publish(n: number, client = 'c1', topic = 'a/b'): MessagePublishEvent {
  return {
    event: 'on_message_publish',
    ts: 1706703724960 + n,
    topic,
    retain: false,
    qos: 1,
    from_username: 'u1',
    from_client_id: client,
    payload: Buffer.from(`message ${n}`),
  }
}

export function connack(client = 'c1'): ClientConnackEvent {
  return {
    event: 'on_client_connack',
    clientid: client,
    username: 'u1',
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
  }
}

export function disconnected(client = 'c1'): ClientDisconnectedEvent {
  return { event: 'on_client_disconnected', clientid: client, username: 'u1', reason: 'normal' }
}

/** The exact body NanoMQ sends for `publish(n, client)` in plain encoding. */
export function publishBody(n: number, client = 'c1', topic = 'a/b'): string {
  return `{"ts":${1706703724960 + n},"topic":"${topic}","retain":false,"qos":1,"action":"message_publish","from_username":"u1","from_client_id":"${client}","payload":"message ${n}"}`
}

export const ALL_CLIENT_AND_MESSAGE_EVENTS: WebhookConfig['events'] = [
  { event: 'on_client_connack' },
  { event: 'on_client_disconnected' },
  { event: 'on_message_publish' },
]

/** A webhook closed when the test ends. */
export function webhookFor(
  t: TestContext,
  config: Partial<WebhookConfig> & { url: string },
  options: WebhookOptions = {},
): Webhook {
  const webhook = createWebhook(
    { events: ALL_CLIENT_AND_MESSAGE_EVENTS, ...config } as WebhookConfig,
    options,
  )
  t.after(() => webhook.close({ timeout_ms: 0 }))
  return webhook
}

/** Every report a webhook emits, in emission order. */
export interface Reports {
  delivered: DeliveredReport[]
  failed: FailedReport[]
  dropped: DroppedReport[]
  errors: Error[]
}

export function collectReports(webhook: Webhook): Reports {
  const reports: Reports = { delivered: [], failed: [], dropped: [], errors: [] }
  webhook.on('delivered', (report) => reports.delivered.push(report))
  webhook.on('failed', (report) => reports.failed.push(report))
  webhook.on('dropped', (report) => reports.dropped.push(report))
  webhook.on('error', (error) => reports.errors.push(error))
  return reports
}

/** Polls `predicate` until it holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not met after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** The text of an event's payload, for naming events in assertions. */
export function payloadText(event: HookEvent): string {
  return 'payload' in event ? Buffer.from(event.payload).toString('utf8') : ''
}

/** Resolves with the next report of this kind. */
export function nextReport<K extends 'delivered' | 'failed' | 'dropped'>(
  webhook: Webhook,
  name: K,
): Promise<WebhookEvents[K][0]> {
  return new Promise((resolve) => webhook.once(name, (report) => resolve(report)))
}
