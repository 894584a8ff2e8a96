import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt, { type IConnectPacket, type IPublishPacket } from 'mqtt-packet'
import {
  DEFAULT_MAX_PACKET_SIZE,
  PacketBudget,
  packetSizeOf,
  processPacketBudget,
} from '../src/adapters/packets/budget.ts'
import { createPacketObserver } from '../src/adapters/packets/observer.ts'
import { wrapStream } from '../src/adapters/packets/stream.ts'
import { ObserverError } from '../src/errors.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'
import { wrappedPair } from './helpers/stream-pair.ts'

const tick = () => new Promise((resolve) => setImmediate(resolve))

const CONNECT = mqtt.generate({
  cmd: 'connect',
  clientId: 'big',
  protocolVersion: 4,
  keepalive: 30,
  clean: true,
})

/** A QoS 0 PUBLISH whose whole packet is exactly `size` bytes. */
function publishOfSize(topic: string, size: number, fill = 0x41): Buffer {
  // The remaining length is what is left once the type byte and the 1 to 4 length bytes are counted.
  for (let lengthBytes = 1; lengthBytes <= 4; lengthBytes++) {
    const remaining = size - 1 - lengthBytes
    if (packetSizeOf(remaining) !== size) continue
    const payload = Buffer.alloc(remaining - 2 - Buffer.byteLength(topic), fill)
    const packet = mqtt.generate({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false })
    assert.equal(packet.length, size)
    return packet
  }
  throw new Error(`no PUBLISH of exactly ${size} bytes`)
}

/** Sends `chunks` from the client one by one, each read on its own (a paused stream would merge them). */
async function sendApart(pair: ReturnType<typeof wrappedPair>, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    pair.fromClient(chunk)
    await tick()
  }
}

function errorCodes(errors: Error[]): string[] {
  return errors.map((error) => {
    assert.ok(error instanceof ObserverError, `an ObserverError, got ${error.name}`)
    return error.code
  })
}

describe('maxPacketSize on wrapStream', () => {
  test('a packet of exactly maxPacketSize is observed; one byte more stops the connection, reported once', async () => {
    const webhook = recordingWebhook(['on_message_publish'])
    const pair = wrappedPair(webhook, { maxPacketSize: 5000 })
    const fits = publishOfSize('t/fits', 5000)
    const over = publishOfSize('t/over', 5001)
    const after = publishOfSize('t/after', 100)
    const sent = Buffer.concat([CONNECT, fits, over, over, after])
    // In small slices, so that packets are gathered across chunks, and in one piece afterwards.
    for (let offset = 0; offset < sent.length; offset += 700)
      pair.fromClient(sent.subarray(offset, offset + 700))
    await tick()
    await pair.end()

    assert.ok(pair.readByServer().equals(sent), 'every byte passed unchanged')
    assert.deepEqual(
      webhook.events.map((event) => [event.event, 'topic' in event ? event.topic : '']),
      [['on_message_publish', 't/fits']],
    )
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_PACKET_TOO_LARGE'])
    assert.equal(
      webhook.errors[0]?.message,
      'mqtt-webhook: client "big" (10.0.0.1): inbound PUBLISH of 5001 bytes is over maxPacketSize (5000); no longer observing this connection',
    )
  })

  test('the default is 1 MiB, whole packet counted', async () => {
    const webhook = recordingWebhook(['on_message_publish'])
    const pair = wrappedPair(webhook)
    pair.fromClient(CONNECT)
    pair.fromClient(publishOfSize('a', DEFAULT_MAX_PACKET_SIZE))
    pair.fromClient(publishOfSize('b', DEFAULT_MAX_PACKET_SIZE + 1))
    await tick()
    await pair.end()
    assert.deepEqual(
      webhook.events.map((event) => ('topic' in event ? event.topic : '')),
      ['a'],
    )
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_PACKET_TOO_LARGE'])
    assert.equal(DEFAULT_MAX_PACKET_SIZE, 1_048_576)
  })

  test('packets no rule needs are skipped whatever their size, and observation goes on', async () => {
    const webhook = recordingWebhook(['on_client_subscribe'])
    const pair = wrappedPair(webhook, { maxPacketSize: 1000 })
    const big = publishOfSize('t', 3 * DEFAULT_MAX_PACKET_SIZE + 7)
    const subscribe = mqtt.generate({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'after/#', qos: 1 }],
    })
    const sent = Buffer.concat([CONNECT, big, subscribe])
    pair.fromClient(sent)
    await tick()
    await pair.end()
    assert.ok(pair.readByServer().equals(sent))
    assert.deepEqual(webhook.errors, [])
    assert.deepEqual(
      webhook.events.map((event) => [event.event, 'topic' in event ? event.topic : '']),
      [['on_client_subscribe', 'after/#']],
    )
  })

  test('an outbound delivery over the limit stops the connection on the outbound side', async () => {
    const webhook = recordingWebhook(['on_message_delivered'])
    const pair = wrappedPair(webhook, { maxPacketSize: 2000 })
    pair.fromClient(CONNECT)
    await tick()
    const big = publishOfSize('down', 2001)
    pair.fromServer(big)
    pair.fromServer(publishOfSize('down', 50))
    await tick()
    await pair.end()
    assert.deepEqual(webhook.events, [])
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_PACKET_TOO_LARGE'])
    assert.match(
      webhook.errors[0]?.message ?? '',
      /outbound PUBLISH of 2001 bytes is over maxPacketSize \(2000\)/,
    )
    assert.equal(pair.readByClient().length, big.length + publishOfSize('down', 50).length)
  })

  test('bad sizes are refused when the stream is wrapped, naming the option', () => {
    const webhook = recordingWebhook()
    const socket = wrappedPair(webhook).wrapped
    const cases: Array<[object, RegExp]> = [
      [{ maxPacketSize: 0 }, /^maxPacketSize must be a positive integer of bytes, got 0$/],
      [{ maxPacketSize: 1.5 }, /^maxPacketSize must be a positive integer of bytes, got 1.5$/],
      [{ maxPacketSize: Number.NaN }, /got NaN/],
      [{ maxPacketSize: 268_435_461 }, /^maxPacketSize must be at most 268435460 \(MQTT's own limit\)/],
      [
        { maxPacketSize: 2000, packetBudget: new PacketBudget(1000) },
        /^maxPacketSize \(2000\) is larger than the packet budget \(1000 bytes\)/,
      ],
      [{ maxPacketSize: 100 * 1_048_576 }, /is larger than the packet budget \(67108864 bytes\)/],
      [{ packetBudget: { bytes: 1e9 } }, /^packetBudget must be a PacketBudget/],
    ]
    for (const [options, message] of cases)
      assert.throws(() => wrapStream(socket, webhook, options), { name: 'RangeError', message })
    assert.throws(() => new PacketBudget(0), RangeError)
    assert.throws(() => createPacketObserver(webhook, { maxPacketSize: -1 }), RangeError)
  })
})

describe('the packet budget of wrapStream', () => {
  test('a packet that does not fit what is left stops its connection; the others go on; all is given back', async () => {
    const budget = new PacketBudget(10_000)
    const webhook = recordingWebhook(['on_message_publish'])
    const first = wrappedPair(webhook, { packetBudget: budget, maxPacketSize: 10_000 })
    const second = wrappedPair(webhook, { packetBudget: budget, maxPacketSize: 10_000 })
    const packet = publishOfSize('half', 6000)
    first.fromClient(CONNECT)
    second.fromClient(CONNECT)
    // Both start a 6000-byte packet: the first takes 6000 of 10000, the second does not fit.
    first.fromClient(packet.subarray(0, 3000))
    await tick()
    assert.equal(budget.used, 6000)
    second.fromClient(packet.subarray(0, 3000))
    await tick()
    assert.equal(budget.used, 6000)
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_PACKET_BUDGET'])
    assert.equal(
      webhook.errors[0]?.message,
      'mqtt-webhook: client "big" (10.0.0.1): inbound PUBLISH of 6000 bytes does not fit the packet budget (6000 of 10000 bytes held by packets still arriving); no longer observing this connection',
    )
    first.fromClient(packet.subarray(3000))
    second.fromClient(packet.subarray(3000))
    await tick()
    assert.equal(budget.used, 0)
    assert.equal(webhook.events.length, 1)
    assert.ok(second.readByServer().equals(Buffer.concat([CONNECT, packet])), 'the unobserved one passes too')
    await first.end()
    await second.end()
  })

  test('a packet inside one chunk takes nothing from the budget', async () => {
    const budget = new PacketBudget(100)
    const webhook = recordingWebhook(['on_message_publish'])
    const pair = wrappedPair(webhook, { packetBudget: budget, maxPacketSize: 100 })
    pair.fromClient(Buffer.concat([CONNECT, publishOfSize('whole', 100), publishOfSize('whole', 100)]))
    await tick()
    await pair.end()
    assert.equal(webhook.events.length, 2)
    assert.deepEqual(webhook.errors, [])
  })

  test('a connection that ends mid-packet gives its bytes back', async () => {
    const budget = new PacketBudget(100_000)
    const webhook = recordingWebhook(['on_message_publish'])
    const pair = wrappedPair(webhook, { packetBudget: budget, maxPacketSize: 100_000 })
    pair.fromClient(CONNECT)
    pair.fromClient(publishOfSize('cut', 50_000).subarray(0, 10))
    await tick()
    assert.equal(budget.used, 50_000)
    await pair.end()
    assert.equal(budget.used, 0)
  })

  test('a connection stopped by the other direction gives its bytes back at once', async () => {
    const budget = new PacketBudget(100_000)
    const webhook = recordingWebhook(['on_message_publish', 'on_client_connack'])
    const pair = wrappedPair(webhook, { packetBudget: budget, maxPacketSize: 100_000 })
    pair.fromClient(CONNECT)
    pair.fromClient(publishOfSize('held', 50_000).subarray(0, 10))
    await tick()
    assert.equal(budget.used, 50_000)
    pair.fromServer(Buffer.from([0x00, 0x00])) // packet type 0: malformed
    await tick()
    assert.equal(budget.used, 0)
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_MALFORMED'])
    await pair.end()
  })

  test('the process-wide budget is shared by default', async () => {
    assert.equal(processPacketBudget.bytes, 64 * 1_048_576)
    const webhook = recordingWebhook(['on_message_publish'])
    const pair = wrappedPair(webhook)
    pair.fromClient(CONNECT)
    pair.fromClient(publishOfSize('shared', 20_000).subarray(0, 100))
    await tick()
    assert.equal(processPacketBudget.used, 20_000)
    await pair.end()
    assert.equal(processPacketBudget.used, 0)
  })

  test('a payload gathered across chunks is kept without a second copy; one sliced from a chunk is copied', async () => {
    const webhook = recordingWebhook(['on_message_publish'])
    const pair = wrappedPair(webhook)
    const gathered = publishOfSize('gathered', 300_000, 0x47)
    const sliced = publishOfSize('sliced', 300, 0x53)
    // The second packet comes in a chunk of its own: a slice of a larger buffer, as socket chunks can be.
    const chunk = Buffer.concat([sliced, Buffer.alloc(5000)])
    await sendApart(pair, [
      CONNECT,
      gathered.subarray(0, 1000),
      gathered.subarray(1000),
      chunk.subarray(0, sliced.length),
    ])
    await pair.end()
    const [big, small] = webhook.events as unknown as Array<{ payload: Buffer }>
    assert.equal(big?.payload.length, gathered.length - 4 - 2 - 'gathered'.length)
    assert.ok(big?.payload.every((byte) => byte === 0x47))
    // The packet's own buffer: its header and topic, then the payload, nothing else.
    assert.equal(big?.payload.buffer.byteLength, gathered.length)
    assert.ok(small?.payload.every((byte) => byte === 0x53))
    assert.notEqual(small?.payload.buffer, chunk.buffer, 'a copy: the chunk is not pinned by the event')
  })
})

describe('maxPacketSize on createPacketObserver', () => {
  test('a parsed packet over the limit stops the observer, reported once', () => {
    const webhook = recordingWebhook(['on_message_publish'])
    const observer = createPacketObserver(webhook, { maxPacketSize: 1000 })
    observer.inbound(connectPacket())
    const small: IPublishPacket = publish('ok', 100)
    const big: IPublishPacket = publish('big', 2000)
    observer.inbound(small)
    observer.inbound(big)
    observer.inbound(big)
    observer.inbound(small)
    assert.deepEqual(
      webhook.events.map((event) => ('topic' in event ? event.topic : '')),
      ['ok'],
    )
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_PACKET_TOO_LARGE'])
    assert.match(
      webhook.errors[0]?.message ?? '',
      /inbound PUBLISH of 2000 bytes is over maxPacketSize \(1000\)/,
    )
  })

  test("with mqtt-packet's length (the remaining length), the whole packet is counted", () => {
    const webhook = recordingWebhook(['on_message_publish'])
    const observer = createPacketObserver(webhook, { maxPacketSize: 1000 })
    observer.inbound(connectPacket())
    assert.equal(packetSizeOf(997), 1000)
    observer.inbound({ ...publish('t', 994), length: 997 } as IPublishPacket)
    assert.deepEqual(errorCodes(webhook.errors), [])
    observer.inbound({ ...publish('t', 995), length: 998 } as IPublishPacket)
    assert.deepEqual(errorCodes(webhook.errors), ['ERR_MQTT_PACKET_TOO_LARGE'])
    assert.match(webhook.errors[0]?.message ?? '', /inbound PUBLISH of 1001 bytes/)
  })
})

function connectPacket(): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: 'obs',
    keepalive: 30,
    clean: true,
  }
}

function publish(topic: string, payloadBytes: number): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.alloc(payloadBytes), qos: 0, dup: false, retain: false }
}
