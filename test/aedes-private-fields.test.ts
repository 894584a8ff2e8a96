/**
 * The adapter reads two fields aedes does not document. If aedes renames them, these tests fail loudly
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
