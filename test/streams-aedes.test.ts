import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { wrapStream } from '../src/adapters/packets/stream.ts'
import type { Webhook } from '../src/webhook-types.ts'
import { plain, runScenario, scenarioDone, sortEvents } from './helpers/mqtt-scenario.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

/** aedes on 127.0.0.1, every connection handed to it through `wrapStream`. */
async function startWrappedAedes(webhook: Webhook) {
  const broker = await Aedes.createBroker()
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(wrapStream(socket, webhook))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      const closed = once(server, 'close')
      server.close()
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await closed
    },
  }
}

test('wrapStream in front of aedes, MQTT 3.1.1: every event', async (t) => {
  const webhook = recordingWebhook()
  const server = await startWrappedAedes(webhook)
  t.after(() => server.close())
  const expected = await runScenario({
    url: server.url,
    protocolVersion: 4,
    ipaddress: '127.0.0.1',
    suffix: 'aedes',
  })
  await webhook.waitFor(scenarioDone('aedes'))
  assert.deepEqual(plain(webhook.events), sortEvents(expected))
  assert.deepEqual(webhook.errors, [])
})

test('wrapStream in front of aedes, MQTT 3.1: connect, publish, normal disconnect', async (t) => {
  const webhook = recordingWebhook()
  const server = await startWrappedAedes(webhook)
  t.after(() => server.close())
  const client = await mqtt.connectAsync(server.url, {
    clientId: 'old',
    username: 'u31',
    protocolId: 'MQIsdp',
    protocolVersion: 3,
    keepalive: 10,
    reconnectPeriod: 0,
  })
  await client.publishAsync('x/y', 'hi', { qos: 1, retain: true })
  await client.endAsync()
  await webhook.waitFor((events) => events.some((e) => e.event === 'on_session_terminated'))
  const id = { clientid: 'old', username: 'u31' }
  assert.deepEqual(
    plain(webhook.events),
    sortEvents([
      { event: 'on_client_connect', ...id, ipaddress: '127.0.0.1', keepalive: 10, proto_ver: 3 },
      { event: 'on_client_connack', proto_ver: 3, keepalive: 10, conn_ack: 'success', ...id },
      { event: 'on_client_connected', ...id, ipaddress: '127.0.0.1', keepalive: 10, proto_ver: 3 },
      {
        event: 'on_message_publish',
        topic: 'x/y',
        retain: true,
        qos: 1,
        from_username: 'u31',
        from_client_id: 'old',
        payload: 'hi',
      },
      { event: 'on_client_disconnected', reason: 'normal', ...id },
      { event: 'on_session_terminated', ...id, reason: 'normal' },
    ]),
  )
})

test('wrapStream in front of aedes, MQTT 5 (which aedes refuses): connack fail, no connected', async (t) => {
  const webhook = recordingWebhook()
  const server = await startWrappedAedes(webhook)
  t.after(() => server.close())
  await assert.rejects(
    mqtt.connectAsync(server.url, { clientId: 'new', protocolVersion: 5, keepalive: 7, reconnectPeriod: 0 }),
  )
  await webhook.waitFor((events) => events.some((e) => e.event === 'on_client_connack'))
  assert.deepEqual(plain(webhook.events), [
    {
      event: 'on_client_connack',
      proto_ver: 5,
      keepalive: 7,
      conn_ack: 'fail',
      clientid: 'new',
      username: undefined,
    },
    {
      event: 'on_client_connect',
      clientid: 'new',
      username: undefined,
      ipaddress: '127.0.0.1',
      keepalive: 7,
      proto_ver: 5,
    },
  ])
  assert.deepEqual(webhook.errors, [])
})
