/**
 * The adapter reads fields aedes does not document (`client._parser`, `client._disconnected`,
 * `client._nextId`, `broker.clients`) and wraps one method (`broker.registerClient`). If aedes renames them, these tests fail loudly
 * (and the adapter reports it through `webhook.reportError`), instead of events silently going missing.
 */
import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import { test } from 'node:test'
import type { Client } from 'aedes'
import { startAedes } from './helpers/aedes.ts'
import { connectClient } from './helpers/mqtt.ts'

test('aedes 1.x: client._parser emits each inbound packet (on_client_unsubscribe, on_message_acked)', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const seen: string[] = []
  let allSeen = () => {}
  const fourSeen = new Promise<void>((resolve) => {
    allSeen = resolve
  })
  running.broker.on('client', (client: Client) => {
    const parser = (client as unknown as { _parser: unknown })._parser
    assert.ok(parser instanceof EventEmitter, 'client._parser is an EventEmitter')
    parser.on('packet', (packet: { cmd: string }) => {
      if (packet.cmd !== 'pingreq') seen.push(packet.cmd)
      if (seen.length === 4) allSeen()
    })
  })
  const client = await connectClient(t, running.url, { clientId: 'pin1' })
  await client.subscribeAsync({ a: { qos: 1 } })
  await client.publishAsync('a', 'x', { qos: 1 })
  await client.unsubscribeAsync('a')
  await fourSeen
  // The client's PUBACK of the message it got may come after its UNSUBSCRIBE.
  assert.deepEqual([...seen].sort(), ['puback', 'publish', 'subscribe', 'unsubscribe'])
})

test('aedes 1.x: client._disconnected is true only after a DISCONNECT packet (reason normal/abnormal)', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const flags: boolean[] = []
  running.broker.on('clientDisconnect', (client: Client) => {
    flags.push((client as unknown as { _disconnected: boolean })._disconnected)
  })
  const polite = await connectClient(t, running.url, { clientId: 'polite' })
  const gone = once(running.broker, 'clientDisconnect')
  await polite.endAsync()
  await gone
  const rude = await connectClient(t, running.url, { clientId: 'rude' })
  const goneToo = once(running.broker, 'clientDisconnect')
  rude.end(true)
  await goneToo
  assert.deepEqual(flags, [true, false])
})

test('aedes 1.x: client._nextId is the packet id of the next QoS 1 message sent without one (on_message_acked)', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const subscriber = await connectClient(t, running.url, { clientId: 'ids' })
  await subscriber.subscribeAsync({ n: { qos: 1 } })
  const client = (running.broker as unknown as { clients: Record<string, unknown> }).clients.ids as {
    _nextId: unknown
  }
  assert.equal(typeof client._nextId, 'number')
  const expected = client._nextId
  const got = new Promise<number | undefined>((resolve) =>
    subscriber.once('message', (_topic, _payload, packet) => resolve(packet.messageId)),
  )
  running.broker.publish(
    { cmd: 'publish', topic: 'n', payload: Buffer.from('x'), qos: 1, retain: false, dup: false },
    () => {},
  )
  assert.equal(await got, expected)
})

test('aedes 1.x: broker.registerClient closes the connection holding the id before the new one is registered (takeovers)', async (t) => {
  const running = await startAedes()
  t.after(() => running.close())
  const broker = running.broker as unknown as {
    registerClient: (client: Client) => void
    clients: Record<string, Client | undefined>
  }
  assert.equal(typeof broker.registerClient, 'function')
  const seen: string[] = []
  const original = broker.registerClient
  broker.registerClient = function (this: unknown, client: Client) {
    const holder = broker.clients[client.id]
    seen.push(holder === undefined ? 'free' : holder.closed ? 'closed' : 'held')
    return original.call(this, client)
  }
  running.broker.on('clientDisconnect', () => seen.push('old disconnected'))
  running.broker.on('clientReady', () => seen.push('ready'))
  const bothReady = new Promise<void>((resolve) =>
    running.broker.on('clientReady', () => seen.filter((step) => step === 'ready').length === 2 && resolve()),
  )
  await connectClient(t, running.url, { clientId: 'same' })
  await connectClient(t, running.url, { clientId: 'same' })
  await bothReady
  assert.deepEqual(seen, ['free', 'ready', 'held', 'old disconnected', 'ready'])
})
