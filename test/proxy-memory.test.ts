import assert from 'node:assert/strict'
import { type ChildProcess, fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt-packet'
import type { ChildMemory, ChildOptions } from './helpers/proxy-memory-child.ts'

const MiB = 1_048_576
const CHILD = fileURLToPath(new URL('./helpers/proxy-memory-child.ts', import.meta.url))
/** Sent again and again: the clients hold one MiB whatever they send. */
const MEBIBYTE = Buffer.alloc(MiB, 0x5a)

/** An upstream that reads everything and keeps, per connection, a count and a digest of what it got. */
async function startSink() {
  const received: Array<{ bytes: number; hash: ReturnType<typeof createHash> }> = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    const entry = { bytes: 0, hash: createHash('sha256') }
    received.push(entry)
    sockets.add(socket)
    socket.on('data', (chunk: Buffer) => {
      entry.bytes += chunk.length
      entry.hash.update(chunk)
    })
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    received,
    totalBytes: () => received.reduce((sum, entry) => sum + entry.bytes, 0),
    async close() {
      for (const socket of sockets) socket.destroy()
      const closed = once(server, 'close')
      server.close()
      await closed
    },
  }
}

/** The proxy in a child process; `measure()` collects its garbage and reads its memory. */
async function startChild(options: ChildOptions) {
  const child: ChildProcess = fork(CHILD, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [ready] = (await once(child, 'message')) as [{ port: number }]
  return {
    port: ready.port,
    async measure(): Promise<ChildMemory> {
      const reply = once(child, 'message')
      child.send('measure')
      return ((await reply) as [ChildMemory])[0]
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function connectTo(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  return socket
}

/** Writes `chunks` in order, waiting for the socket to drain (the client holds nothing more). */
async function send(socket: Socket, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) if (!socket.write(chunk)) await once(socket, 'drain')
}

function connectPacket(clientId: string): Buffer {
  return mqtt.generate({ cmd: 'connect', clientId, protocolVersion: 4, keepalive: 60, clean: true })
}

/** A QoS 0 PUBLISH's fixed header and topic, announcing a payload of `payloadLength` bytes. */
function publishHead(topic: string, payloadLength: number): Buffer {
  const variable = Buffer.alloc(2 + Buffer.byteLength(topic))
  variable.writeUInt16BE(Buffer.byteLength(topic))
  variable.write(topic, 2)
  const remaining = variable.length + payloadLength
  const length: number[] = []
  let rest = remaining
  do {
    let byte = rest % 128
    rest = Math.floor(rest / 128)
    if (rest > 0) byte |= 0x80
    length.push(byte)
  } while (rest > 0)
  return Buffer.concat([Buffer.from([0x30, ...length]), variable])
}

function* mebibytes(count: number): Generator<Buffer> {
  for (let i = 0; i < count; i++) yield MEBIBYTE
}

test('8 clients announce 256 MiB PUBLISHes and send 40 MiB each: none is buffered, every byte passes', async (t) => {
  const sink = await startSink()
  t.after(() => sink.close())
  const proxy = await startChild({ upstreamPort: sink.port })
  t.after(() => proxy.close())
  const before = await proxy.measure()

  const clients = await Promise.all(Array.from({ length: 8 }, () => connectTo(proxy.port)))
  t.after(() => {
    for (const client of clients) client.destroy()
  })
  const expected: string[] = []
  await Promise.all(
    clients.map(async (client, index) => {
      // 268,435,455: the most MQTT can announce; the clients send 40 MiB of it and stop.
      const head = [connectPacket(`hog${index}`), Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x68])]
      const hash = createHash('sha256')
      for (const chunk of [...head, ...mebibytes(40)]) hash.update(chunk)
      expected[index] = hash.digest('hex')
      await send(client, [...head, ...mebibytes(40)])
    }),
  )
  const perClient = connectPacket('hog0').length + 8 + 40 * MiB
  await until(() => sink.totalBytes() >= 8 * perClient, 'the upstream got every byte')
  const after = await proxy.measure()

  assert.deepEqual(after.errorCodes, Array(8).fill('ERR_MQTT_PACKET_TOO_LARGE'))
  assert.equal(after.budgetUsed, 0)
  assert.deepEqual(
    sink.received.map((entry) => entry.hash.digest('hex')).sort(),
    expected.slice().sort(),
    "the upstream got each client's bytes unchanged",
  )
  // Before: 338-410 MiB held. The bound is a generous multiple of what is in flight (a few chunks).
  const grown = (after.rss - before.rss) / MiB
  t.diagnostic(
    `RSS grew ${grown.toFixed(1)} MiB relaying 320 MiB; arrayBuffers ${(after.arrayBuffers / MiB).toFixed(1)} MiB`,
  )
  assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB`)
  assert.ok(after.arrayBuffers < 32 * MiB, `arrayBuffers ${after.arrayBuffers / MiB} MiB`)
})

test('128 slow clients with a 1 MiB PUBLISH under way hold no more than the packet budget', async (t) => {
  const BUDGET = 8 * MiB
  const sink = await startSink()
  t.after(() => sink.close())
  const proxy = await startChild({ upstreamPort: sink.port, packetBudget: BUDGET })
  t.after(() => proxy.close())
  const before = await proxy.measure()

  const CLIENTS = 128
  const topic = 'slow'
  const payloadLength = MiB - 16 // the whole packet under the default 1 MiB maxPacketSize
  const head = publishHead(topic, payloadLength)
  const payload = Buffer.alloc(payloadLength, 0x33)
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connectTo(proxy.port)))
  t.after(() => {
    for (const client of clients) client.destroy()
  })
  // Everything but the last 100 bytes: each packet stays under way.
  await Promise.all(
    clients.map((client, index) =>
      send(client, [connectPacket(`slow${index}`), head, payload.subarray(0, payloadLength - 100)]),
    ),
  )
  const sentEach = connectPacket('slow0').length + head.length + payloadLength - 100
  await until(() => sink.totalBytes() >= CLIENTS * sentEach, 'the upstream got every byte so far')
  const held = await proxy.measure()

  const packetSize = head.length + payloadLength
  const fitting = Math.floor(BUDGET / packetSize)
  assert.equal(held.budgetUsed, fitting * packetSize)
  assert.deepEqual(held.errorCodes, Array(CLIENTS - fitting).fill('ERR_MQTT_PACKET_BUDGET'))
  const grown = (held.rss - before.rss) / MiB
  t.diagnostic(
    `${CLIENTS} MiB under way: RSS grew ${grown.toFixed(1)} MiB, arrayBuffers ${(held.arrayBuffers / MiB).toFixed(1)} MiB (budget 8 MiB)`,
  )
  assert.ok(held.arrayBuffers < 3 * BUDGET, `arrayBuffers ${held.arrayBuffers / MiB} MiB`)
  assert.ok(grown < 4 * (BUDGET / MiB) + 32, `RSS grew ${grown.toFixed(1)} MiB`)

  // The packets end: those that fit are observed, and the budget is all given back.
  await Promise.all(clients.map((client) => send(client, [payload.subarray(payloadLength - 100)])))
  await until(() => sink.totalBytes() >= CLIENTS * (sentEach + 100), 'the upstream got the ends')
  const done = await proxy.measure()
  assert.equal(done.budgetUsed, 0)
  assert.deepEqual(done.payloadBytes, Array(fitting).fill(payloadLength))
})

test('one 100 MiB PUBLISH under a raised maxPacketSize is copied once, into the event', async (t) => {
  const sink = await startSink()
  t.after(() => sink.close())
  const proxy = await startChild({
    upstreamPort: sink.port,
    maxPacketSize: 128 * MiB,
    packetBudget: 128 * MiB,
  })
  t.after(() => proxy.close())
  const before = await proxy.measure()

  const client = await connectTo(proxy.port)
  t.after(() => client.destroy())
  const head = publishHead('big', 100 * MiB)
  await send(client, [connectPacket('big'), head, ...mebibytes(100)])
  await until(
    () => sink.totalBytes() >= connectPacket('big').length + head.length + 100 * MiB,
    'the upstream got every byte',
  )
  const after = await proxy.measure()

  assert.deepEqual(after.errorCodes, [])
  assert.deepEqual(after.payloadBytes, [100 * MiB])
  assert.equal(after.budgetUsed, 0)
  // Before: the chunks, their concatenation and the event's copy, 3x the payload at the peak (7x with a
  // real webhook). Now the packet is gathered into its own buffer, which the event keeps.
  const peak = (after.maxRss - before.maxRss) / MiB
  t.diagnostic(`peak RSS grew ${peak.toFixed(0)} MiB for a 100 MiB PUBLISH`)
  assert.ok(peak < 200, `peak RSS grew ${peak.toFixed(0)} MiB`)
})
