import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { describe, type TestContext, test } from 'node:test'
import { Aedes, type AedesOptions } from 'aedes'
import mqtt from 'mqtt'
import { attachAedes } from '../src/adapters/aedes/index.ts'
import { wrapStream } from '../src/adapters/packets/stream.ts'
import { HOOK_EVENT_NAMES } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import type { Webhook } from '../src/webhook-types.ts'
import { startAedes } from './helpers/aedes.ts'
import { type Receiver, startReceiver } from './helpers/receiver.ts'

const PASSWORD = 'mqtt-pa55word-canary'
const WRONG_PASSWORD = 'wrong-pa55word-canary'

const authenticate: AedesOptions['authenticate'] = (_client, _username, password, callback) => {
  callback(null, password?.toString() === PASSWORD)
}

/** How the webhook sees the broker: aedes' own events, or the bytes on each connection. */
type Wiring = (t: TestContext, hook: Webhook) => Promise<string>

const throughAedesEvents: Wiring = async (t, hook) => {
  const running = await startAedes({ authenticate })
  t.after(() => running.close())
  const detach = attachAedes(running.broker, hook)
  t.after(detach)
  return running.url
}

const throughWrappedStreams: Wiring = async (t, hook) => {
  const broker = await Aedes.createBroker({ authenticate })
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(wrapStream(socket, hook))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    for (const socket of sockets) socket.destroy()
    const closed = once(server, 'close')
    server.close()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await closed
  })
  return `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Every key of `value`, at any depth. */
function keysOf(value: unknown, keys: string[] = []): string[] {
  if (typeof value !== 'object' || value === null) return keys
  for (const [key, inner] of Object.entries(value)) {
    keys.push(key)
    keysOf(inner, keys)
  }
  return keys
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function actions(server: Receiver): Array<{ action: string; clientid?: string; conn_ack?: string }> {
  return server.acceptedBodies() as Array<{ action: string; clientid?: string; conn_ack?: string }>
}

async function runSession(t: TestContext, wiring: Wiring): Promise<Receiver> {
  const server = await startReceiver()
  t.after(() => server.close())
  const hook = createWebhook({
    url: server.url,
    events: HOOK_EVENT_NAMES.map((event) => ({ event })),
    body: { encoding: 'plain' },
  })
  t.after(() => hook.close({ timeout_ms: 1000 }))
  const url = await wiring(t, hook)

  const client = await mqtt.connectAsync(url, {
    clientId: 'alice-1',
    username: 'alice',
    password: PASSWORD,
    reconnectPeriod: 0,
  })
  await client.subscribeAsync('room/#', { qos: 1 })
  const received = new Promise<void>((resolve) => client.once('message', () => resolve()))
  await client.publishAsync('room/1', 'hello room', { qos: 1 })
  await received
  await client.unsubscribeAsync('room/#')
  await client.endAsync()

  await assert.rejects(
    mqtt.connectAsync(url, {
      clientId: 'mallory-1',
      username: 'mallory',
      password: WRONG_PASSWORD,
      reconnectPeriod: 0,
    }),
  )

  await waitUntil(
    () =>
      actions(server).some((b) => b.action === 'client_disconnected' && b.clientid === 'alice-1') &&
      actions(server).some((b) => b.action === 'client_connack' && b.clientid === 'mallory-1'),
    'the disconnect of alice-1 and the refused connack of mallory-1',
  )
  await hook.flush()
  return server
}

function assertNoPassword(server: Receiver): void {
  const seen = new Set(actions(server).map((body) => body.action))
  // The session really produced the events that could carry credentials.
  for (const action of [
    'client_connect',
    'client_connack',
    'client_connected',
    'message_publish',
    'client_disconnected',
  ]) {
    assert.ok(seen.has(action), `no ${action} body among ${[...seen].join(', ')}`)
  }
  assert.deepEqual(
    actions(server)
      .filter((b) => b.action === 'client_connack')
      .map((b) => [b.clientid, b.conn_ack])
      .sort(),
    [
      ['alice-1', 'success'],
      ['mallory-1', 'fail'],
    ],
  )
  for (const request of server.requests) {
    for (const password of [PASSWORD, WRONG_PASSWORD]) {
      assert.ok(!request.body.includes(password), `a body carries a password: ${request.body}`)
      assert.ok(!JSON.stringify(request.headers).includes(password), 'a header carries a password')
    }
    const passwordKeys = keysOf(JSON.parse(request.body)).filter((key) => /pass/i.test(key))
    assert.deepEqual(passwordKeys, [], `a body has a password field: ${request.body}`)
  }
}

describe('no request ever carries the MQTT password', () => {
  test('aedes adapter: connect, subscribe, publish, disconnect, and a refused login', async (t) => {
    assertNoPassword(await runSession(t, throughAedesEvents))
  })

  test('wrapStream in front of aedes: the same session, seen on the wire', async (t) => {
    assertNoPassword(await runSession(t, throughWrappedStreams))
  })
})
