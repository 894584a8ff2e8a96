/**
 * `queue: { store: 'sqlite' }` through `createWebhook`: events outlive the webhook that took them (same body,
 * same `webhook-id`), dead letters are replayed, per-client order holds across a restart, and a bad store file
 * is reported while delivery carries on from memory. Real SQLite files, real HTTP receivers.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import type { WebhookConfig } from '../src/config-types.ts'
import { loadSqlite } from '../src/delivery/store/load.ts'
import type { HookEvent, MessagePublishEvent } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import type { DroppedReport, FailedReport, Webhook } from '../src/webhook-types.ts'
import { ALL_CLIENT_AND_MESSAGE_EVENTS, connack, publish, publishBody, waitFor } from './helpers/delivery.ts'
import { type Receiver, startReceiver } from './helpers/receiver.ts'
import { smallFileSystem, tempDir } from './helpers/store-files.ts'

/** A receiver on a port that then closes: the url refuses connections until one listens there again. */
async function downEndpoint(): Promise<{ url: string; port: number }> {
  const probe = await startReceiver()
  await probe.close()
  return { url: probe.url, port: probe.port }
}

function durable(
  t: { after(fn: () => unknown): void },
  config: Partial<WebhookConfig> & { url: string; path: string },
): Webhook {
  const { path, ...rest } = config
  const webhook = createWebhook({
    events: ALL_CLIENT_AND_MESSAGE_EVENTS,
    queue: { store: 'sqlite', path },
    retry: { max_attempts: 1000, base_delay: 20, max_delay: 100 },
    ...rest,
  } as WebhookConfig)
  t.after(() => webhook.close({ timeout_ms: 0 }))
  return webhook
}

function ids(receiver: Receiver): string[] {
  return receiver.accepted.map((request) => request.headers['webhook-id'] as string)
}

test('sqlite queue: events still waiting at close are delivered by the next webhook on the same file, same body and same webhook-id', async (t) => {
  const path = join(tempDir(t), 'queue.db')
  const down = await downEndpoint()
  const first = durable(t, { url: down.url, path })
  const dropped: DroppedReport[] = []
  first.on('dropped', (report) => dropped.push(report))
  const events: HookEvent[] = []
  for (let n = 0; n < 50; n++) events.push(n % 10 === 0 ? connack(`c${n}`) : publish(n, `c${n % 3}`))
  for (const event of events) first.handle(event)
  await first.close({ timeout_ms: 50 })
  assert.equal(dropped.length, 50)
  assert.ok(dropped.every((report) => report.reason === 'closed'))
  assert.equal(first.stats().store?.written, 50)

  const receiver = await startReceiver({ port: down.port })
  t.after(() => receiver.close())
  const second = durable(t, { url: down.url, path })
  assert.equal(second.stats().store?.recovered, 50)
  await receiver.waitForAccepted(50)
  await second.flush()
  assert.deepEqual(new Set(ids(receiver)), new Set(dropped.map((report) => report.id)))
  const bodies = new Set(receiver.accepted.map((request) => request.body))
  for (let n = 0; n < 50; n++)
    if (n % 10 !== 0) assert.ok(bodies.has(publishBody(n, `c${n % 3}`)), `publish ${n}`)
  assert.equal(receiver.accepted.length, 50, 'each once')
  // Delivered events left the file.
  await second.close({ timeout_ms: 1000 })
  const db = new (loadSqlite())(path, { readonly: true })
  assert.deepEqual(db.prepare('SELECT count(*) AS n FROM queue').get(), { n: 0 })
  db.close()
})

test('sqlite queue: events answered 400 become dead letters with their status; replay() sends each once more with its original id', async (t) => {
  const path = join(tempDir(t), 'queue.db')
  let broken = true
  const receiver = await startReceiver({ reply: () => (broken ? 400 : 200) })
  t.after(() => receiver.close())
  const webhook = durable(t, { url: receiver.url, path })
  const failed: FailedReport[] = []
  webhook.on('failed', (report) => failed.push(report))
  for (let n = 0; n < 30; n++) webhook.handle(publish(n, `c${n % 4}`))
  await webhook.flush()
  assert.equal(failed.length, 30)
  assert.ok(failed.every((report) => report.status === 400 && report.attempts === 1))
  assert.equal(webhook.stats().store?.dead, 30)
  const db = new (loadSqlite())(path, { readonly: true })
  assert.deepEqual(db.prepare('SELECT DISTINCT status, attempts, message FROM dead').all(), [
    { status: 400, attempts: 1, message: 'HTTP 400' },
  ])
  db.close()

  broken = false
  const delivered: MessagePublishEvent[] = []
  webhook.on('delivered', (report) => delivered.push(report.event as MessagePublishEvent))
  const before = receiver.requests.length
  assert.equal(webhook.replay({ event: 'on_client_connack' }), 0)
  assert.equal(webhook.replay(), 30)
  await webhook.flush()
  assert.equal(webhook.replay(), 0, 'delivered ones are not dead any more')
  const replayed = receiver.requests.slice(before)
  assert.equal(replayed.length, 30)
  assert.deepEqual(
    replayed.map((request) => request.headers['webhook-id']).sort(),
    failed.map((report) => report.id).sort(),
  )
  assert.deepEqual(
    new Set(replayed.map((request) => request.body)),
    new Set(Array.from({ length: 30 }, (_, n) => publishBody(n, `c${n % 4}`))),
  )
  assert.equal(webhook.stats().store?.dead, 0)
  assert.equal(webhook.stats().store?.replayed, 30)
  // Reports of replayed events carry the event, rebuilt from the store.
  assert.deepEqual(
    delivered.sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0)),
    Array.from({ length: 30 }, (_, n) => publish(n, `c${n % 4}`)),
  )
})

test("sqlite queue: ordering 'per-client' holds across a restart", async (t) => {
  const path = join(tempDir(t), 'queue.db')
  const down = await downEndpoint()
  const first = durable(t, { url: down.url, path, ordering: 'per-client' })
  for (let n = 0; n < 60; n++) first.handle(publish(n, `c${n % 3}`))
  await first.close({ timeout_ms: 20 })

  let seed = 7
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const receiver = await startReceiver({
    port: down.port,
    reply: () => (random() < 0.2 ? 503 : { status: 200, delayMs: Math.floor(random() * 10) }),
  })
  t.after(() => receiver.close())
  const second = durable(t, { url: down.url, path, ordering: 'per-client', pool_size: 8 })
  await receiver.waitForAccepted(60)
  await second.flush()
  for (const client of ['c0', 'c1', 'c2']) {
    const order = receiver.accepted
      .map((request) => JSON.parse(request.body) as { from_client_id: string; ts: number })
      .filter((body) => body.from_client_id === client)
      .map((body) => body.ts - 1706703724960)
    const expected = Array.from({ length: 20 }, (_, i) => i * 3 + Number(client.slice(1)))
    assert.deepEqual(order, expected, client)
  }
})

test('sqlite queue: a store in a read-only directory is reported as an error and events are delivered from memory', async (t) => {
  const dir = smallFileSystem(t, 64, true)
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = durable(t, { url: receiver.url, path: join(dir, 'queue.db') })
  const errors: Error[] = []
  webhook.on('error', (error) => errors.push(error))
  for (let n = 0; n < 20; n++) webhook.handle(publish(n))
  await receiver.waitForAccepted(20)
  await webhook.flush()
  await waitFor(() => errors.length === 1, 'the error report')
  assert.match(
    (errors[0] as Error).message,
    /could not open the queue store .*queue\.db; events are kept in memory only/,
  )
  assert.equal(webhook.stats().store?.failing, true)
  assert.equal(webhook.stats().success, 20)
})

test('sqlite queue: a disk that fills is reported once, counted, and every event is still delivered', async (t) => {
  const dir = smallFileSystem(t, 192)
  const receiver = await startReceiver({ reply: () => ({ status: 200, delayMs: 5 }) })
  t.after(() => receiver.close())
  const webhook = durable(t, { url: receiver.url, path: join(dir, 'queue.db'), pool_size: 2 })
  const errors: Error[] = []
  webhook.on('error', (error) => errors.push(error))
  const payload = Buffer.alloc(8 * 1024, 0x61)
  for (let n = 0; n < 200; n++) {
    webhook.handle({ ...publish(n), payload })
    if (n % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
  }
  await receiver.waitForAccepted(200, 30_000)
  await webhook.flush()
  assert.equal(errors.length >= 1, true)
  assert.equal((errors[0] as Error & { code: string }).code, 'SQLITE_FULL')
  const stats = webhook.stats()
  assert.equal(stats.success, 200)
  assert.ok((stats.store?.write_errors ?? 0) > 0)
  assert.equal((stats.store?.written ?? 0) + (stats.store?.write_errors ?? 0), 200)
})

test("queue.store 'sqlite' without better-sqlite3 installed: WebhookConfigError naming queue.store", () => {
  // A child whose module resolution cannot find better-sqlite3, as on a machine where the optional build was skipped.
  const script = `import Module from 'node:module'
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (request !== 'better-sqlite3') return resolve.call(this, request, ...rest)
  throw Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: 'MODULE_NOT_FOUND' })
}
const { createWebhook } = await import('./src/index.ts')
try {
  createWebhook({ url: 'http://127.0.0.1:1/', events: [{ event: 'on_client_connack' }], queue: { store: 'sqlite', path: 'never.db' } })
} catch (e) { console.log(e.name, e.message) }`
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  })
  assert.equal(
    output.trim(),
    "WebhookConfigError queue.store: 'sqlite' needs the optional package better-sqlite3, which is not installed (npm install better-sqlite3@12)",
  )
})

test('sqlite queue: events taken back from the store reach options.send and the reports with their event rebuilt', async (t) => {
  const path = join(tempDir(t), 'queue.db')
  const down = await downEndpoint()
  const first = durable(t, { url: down.url, path })
  const events: HookEvent[] = [publish(1, 'c1'), connack('c9'), publish(2, 'c1')]
  for (const event of events) first.handle(event)
  await first.close({ timeout_ms: 20 })

  const sent: HookEvent[] = []
  const second = createWebhook(
    {
      url: down.url,
      events: ALL_CLIENT_AND_MESSAGE_EVENTS,
      queue: { store: 'sqlite', path },
    } as WebhookConfig,
    {
      send: async (request) => {
        sent.push(request.event)
        return { status: 200 }
      },
    },
  )
  t.after(() => second.close({ timeout_ms: 0 }))
  await second.flush()
  assert.deepEqual(sent, events)
})
