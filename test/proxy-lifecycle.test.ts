import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import mqtt from 'mqtt-packet'
import { createWebhook } from '../src/webhook.ts'
import { recordingLogger } from './helpers/logger.ts'
import { freePort } from './helpers/mosquitto.ts'
import { startLoopbackProxy } from './helpers/proxy.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

/** A raw TCP upstream that records what each connection receives. */
async function startUpstream() {
  const sockets: Socket[] = []
  const received: Buffer[][] = []
  const server: Server = createServer((socket) => {
    const chunks: Buffer[] = []
    sockets.push(socket)
    received.push(chunks)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const connected = async () => {
    while (sockets.length === 0) await once(server, 'connection')
    return sockets[0] as Socket
  }
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    received: () => received.map((chunks) => Buffer.concat(chunks)),
    connected,
    async close() {
      for (const socket of sockets) socket.destroy()
      const closed = once(server, 'close')
      server.close()
      await closed
    },
  }
}

async function connectTo(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return socket
}

test('upstream refuses: the client is closed and exactly one line is logged', async (t) => {
  const logger = recordingLogger()
  const proxy = await startLoopbackProxy(t, await freePort(), recordingWebhook(), logger)
  const client = await connectTo(proxy.address.port)
  client.write(mqtt.generate({ cmd: 'connect', clientId: 'lonely', protocolVersion: 4, keepalive: 10 }))
  await once(client, 'close')
  const warnings = logger.lines.filter((line) => line.level === 'warn' || line.level === 'error')
  assert.equal(warnings.length, 1)
  const [warning] = warnings
  assert.equal(warning?.msg, 'connection error')
  assert.equal((warning?.obj as { code?: string } | undefined)?.code, 'ECONNREFUSED')
  assert.equal((warning?.obj as { side?: string } | undefined)?.side, 'upstream')
})

test('the upstream goes away: the client is closed; the client goes away: the upstream is closed', async (t) => {
  const upstream = await startUpstream()
  t.after(() => upstream.close())
  const webhook = recordingWebhook()
  const proxy = await startLoopbackProxy(t, upstream.port, webhook, recordingLogger())

  const first = await connectTo(proxy.address.port)
  const firstUpstream = await upstream.connected()
  const firstClosed = once(first, 'close')
  firstUpstream.destroy()
  await firstClosed

  const second = await connectTo(proxy.address.port)
  while (upstream.sockets.length < 2) await new Promise((resolve) => setImmediate(resolve))
  const secondUpstream = upstream.sockets[1] as Socket
  const upstreamClosed = once(secondUpstream, 'close')
  second.destroy()
  await upstreamClosed
  assert.deepEqual(webhook.errors, [])
})

test('webhook off (enable: false): a pure pipe, every byte relayed both ways, nothing parsed or reported', async (t) => {
  const upstream = await startUpstream()
  t.after(() => upstream.close())
  const webhook = createWebhook({
    url: 'http://127.0.0.1:9/hook',
    enable: false,
    events: [{ event: 'on_message_publish' }],
  })
  const reported: Error[] = []
  webhook.on('error', (error) => reported.push(error))
  const proxy = await startLoopbackProxy(t, upstream.port, webhook, recordingLogger())
  const client = await connectTo(proxy.address.port)
  const fromUpstream: Buffer[] = []
  client.on('data', (chunk: Buffer) => fromUpstream.push(chunk))
  const garbage = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256))
  client.write(garbage)
  const upstreamSide = await upstream.connected()
  const answer = Buffer.from('not mqtt either \u0000\u00ff')
  upstreamSide.write(answer)
  while (
    Buffer.concat(fromUpstream).length < answer.length ||
    (upstream.received()[0]?.length ?? 0) < garbage.length
  )
    await new Promise((resolve) => setTimeout(resolve, 5))
  assert.ok(upstream.received()[0]?.equals(garbage))
  assert.ok(Buffer.concat(fromUpstream).equals(answer))
  assert.deepEqual(reported, [])
  assert.equal(webhook.stats().matched, 0)
  client.destroy()
})

test('bad bytes with the webhook on: reported once, naming the client, and still relayed untouched', async (t) => {
  const upstream = await startUpstream()
  t.after(() => upstream.close())
  const webhook = recordingWebhook()
  const proxy = await startLoopbackProxy(t, upstream.port, webhook, recordingLogger())
  const client = await connectTo(proxy.address.port)
  const bytes = Buffer.concat([
    mqtt.generate({ cmd: 'connect', clientId: 'messy', protocolVersion: 4, keepalive: 10 }),
    Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    Buffer.from('more garbage after it'),
    mqtt.generate({ cmd: 'disconnect' }),
  ])
  client.write(bytes)
  await upstream.connected()
  while ((upstream.received()[0]?.length ?? 0) < bytes.length)
    await new Promise((resolve) => setTimeout(resolve, 5))
  assert.ok(upstream.received()[0]?.equals(bytes))
  await webhook.waitFor(() => webhook.errors.length > 0)
  assert.deepEqual(
    webhook.errors.map((error) => error.message),
    [
      'mqtt-webhook: client "messy" (127.0.0.1): malformed inbound MQTT: remaining length over the limit (more than 4 bytes); no longer observing this connection',
    ],
  )
  assert.deepEqual(
    webhook.events.map((event) => event.event),
    ['on_client_connect'],
  )
  client.destroy()
})
