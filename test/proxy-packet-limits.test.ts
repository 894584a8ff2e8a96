import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { PacketBudget, packetSizeOf } from '../src/adapters/packets/budget.ts'
import { ObserverError } from '../src/errors.ts'
import { startProxy } from '../src/proxy.ts'
import { mosquittoMissing, startMosquitto } from './helpers/mosquitto.ts'
import { connectClient } from './helpers/mqtt.ts'
import { quietLogger } from './helpers/proxy.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const MiB = 1_048_576

/** Collects what `client` receives on `filter`, in order. */
async function collect(client: Awaited<ReturnType<typeof connectClient>>, filter: string) {
  const received: Array<{ topic: string; payload: Buffer }> = []
  client.on('message', (topic, payload) => received.push({ topic, payload }))
  await client.subscribeAsync(filter, { qos: 1 })
  return received
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within 30 s: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function messageTopics(webhook: ReturnType<typeof recordingWebhook>): string[] {
  return webhook.events.flatMap((event) =>
    event.event === 'on_message_publish' || event.event === 'on_message_delivered'
      ? [`${event.event} ${event.topic} ${event.payload.length}`]
      : [],
  )
}

test('through mosquitto, a message over maxPacketSize passes byte for byte; each connection it crosses is reported once and no longer observed', {
  skip: mosquittoMissing,
}, async (t) => {
  const broker = await startMosquitto()
  t.after(() => broker.close())
  const webhook = recordingWebhook(['on_message_publish', 'on_message_delivered'])
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: broker.port },
    webhook,
    logger: quietLogger,
  })
  t.after(() => proxy.close())
  const url = `mqtt://127.0.0.1:${proxy.address.port}`
  const subscriber = await connectClient(t, url, { clientId: 'sub' })
  const received = await collect(subscriber, 'big/#')
  const publisher = await connectClient(t, url, { clientId: 'pub' })

  const payloads = [randomBytes(512 * 1024), randomBytes(3 * MiB), randomBytes(10)]
  for (const [index, payload] of payloads.entries())
    await publisher.publishAsync(`big/${index}`, payload, { qos: 1 })
  await until(() => received.length === 3, 'the subscriber got the three messages')

  assert.deepEqual(
    received.map((message) => message.topic),
    ['big/0', 'big/1', 'big/2'],
  )
  for (const [index, message] of received.entries())
    assert.ok(message.payload.equals(payloads[index] as Buffer), `big/${index} arrived unchanged`)
  // QoS 1 PUBLISH of big/1: type byte, 4 length bytes, topic, message id, 3 MiB.
  const size = packetSizeOf(2 + 'big/1'.length + 2 + 3 * MiB)
  assert.deepEqual(messageTopics(webhook).sort(), [
    `on_message_delivered big/0 ${512 * 1024}`,
    `on_message_publish big/0 ${512 * 1024}`,
  ])
  assert.ok(
    webhook.errors.every(
      (error) => error instanceof ObserverError && error.code === 'ERR_MQTT_PACKET_TOO_LARGE',
    ),
  )
  assert.deepEqual(webhook.errors.map((error) => error.message).sort(), [
    `mqtt-webhook: client "pub" (127.0.0.1): inbound PUBLISH of ${size} bytes is over maxPacketSize (1048576); no longer observing this connection`,
    `mqtt-webhook: client "sub" (127.0.0.1): outbound PUBLISH of ${size} bytes is over maxPacketSize (1048576); no longer observing this connection`,
  ])
})

test('through mosquitto, a client whose packet does not fit the budget is reported and relayed unchanged; the one holding it is observed', {
  skip: mosquittoMissing,
}, async (t) => {
  const broker = await startMosquitto()
  t.after(() => broker.close())
  const webhook = recordingWebhook(['on_message_publish'])
  const budget = new PacketBudget(2 * MiB)
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: broker.port },
    webhook,
    logger: quietLogger,
    maxPacketSize: 2 * MiB,
    packetBudget: budget,
  })
  t.after(() => proxy.close())
  // The subscriber talks to mosquitto directly: only the two publishers cross the proxy.
  const subscriber = await connectClient(t, broker.url, { clientId: 'watch' })
  const received = await collect(subscriber, 'budget/#')

  // A slow client: its 1.5 MiB PUBLISH is under way, holding 1.5 MiB of the 2 MiB budget.
  const slowPayload = randomBytes(1.5 * MiB)
  const slowPacket = mqttPacket.generate({
    cmd: 'publish',
    topic: 'budget/slow',
    payload: slowPayload,
    qos: 0,
    dup: false,
    retain: false,
  })
  const slow: Socket = connect(proxy.address.port, '127.0.0.1')
  t.after(() => slow.destroy())
  await once(slow, 'connect')
  slow.write(
    mqttPacket.generate({ cmd: 'connect', clientId: 'slow', protocolVersion: 4, keepalive: 60, clean: true }),
  )
  await once(slow, 'data') // CONNACK
  slow.write(slowPacket.subarray(0, slowPacket.length - 1))
  await until(() => budget.used === slowPacket.length, 'the slow packet holds its part of the budget')

  // Meanwhile another client sends 1.5 MiB at once: it does not fit, but the broker still gets it.
  const fastPayload = randomBytes(1.5 * MiB)
  const fast = await connectClient(t, `mqtt://127.0.0.1:${proxy.address.port}`, { clientId: 'fast' })
  await fast.publishAsync('budget/fast', fastPayload, { qos: 1 })
  await fast.publishAsync('budget/fast', Buffer.from('small, after'), { qos: 1 })
  await until(() => received.length === 2, 'the fast messages arrived')

  slow.write(slowPacket.subarray(slowPacket.length - 1))
  await until(() => received.length === 3, 'the slow message arrived')

  assert.ok(received[0]?.payload.equals(fastPayload), 'the fast message arrived unchanged')
  assert.equal(received[1]?.payload.toString(), 'small, after')
  assert.ok(received[2]?.payload.equals(slowPayload), 'the slow message arrived unchanged')
  assert.equal(budget.used, 0)
  assert.deepEqual(messageTopics(webhook), [`on_message_publish budget/slow ${slowPayload.length}`])
  assert.deepEqual(
    webhook.errors.map((error) => [(error as ObserverError).code, error.message]),
    [
      [
        'ERR_MQTT_PACKET_BUDGET',
        `mqtt-webhook: client "fast" (127.0.0.1): inbound PUBLISH of ${fastPayload.length + 2 + 'budget/fast'.length + 2 + 4} bytes does not fit the packet budget (${slowPacket.length} of ${2 * MiB} bytes held by packets still arriving); no longer observing this connection`,
      ],
    ],
  )
})
