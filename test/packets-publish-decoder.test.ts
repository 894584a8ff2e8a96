import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt, { type IPublishPacket } from 'mqtt-packet'
import { decodePublish } from '../src/adapters/packets/publish-decoder.ts'

/** What mqtt-packet reads from the same bytes: the reference the fast decoder must agree with. */
function reference(bytes: Buffer, protocolVersion: number): IPublishPacket | string {
  const parser = mqtt.parser({ protocolVersion })
  let result: IPublishPacket | string = 'no packet'
  parser.on('packet', (packet) => {
    result = packet as IPublishPacket
  })
  parser.on('error', (error: Error) => {
    result = error.message
  })
  parser.parse(bytes)
  return result
}

function headerLength(bytes: Buffer): number {
  let length = 1
  while ((bytes[length] as number) & 0x80) length++
  return length + 1
}

/** The fields the observer reads. */
function essentials(packet: IPublishPacket) {
  return {
    topic: packet.topic,
    qos: packet.qos,
    dup: packet.dup,
    retain: packet.retain,
    messageId: packet.qos > 0 ? packet.messageId : undefined,
    payload: Buffer.from(packet.payload).toString('hex'),
    topicAlias: packet.properties?.topicAlias,
  }
}

test('decodePublish agrees with mqtt-packet on 5,000 random PUBLISH packets, MQTT 3.1.1 and 5', () => {
  let seed = 42
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  const int = (max: number) => Math.floor(next() * max)
  for (let i = 0; i < 5000; i++) {
    const protocolVersion = next() < 0.5 ? 4 : 5
    const qos = int(3) as 0 | 1 | 2
    const properties: NonNullable<IPublishPacket['properties']> = {}
    if (protocolVersion === 5) {
      if (next() < 0.5) properties.topicAlias = 1 + int(100)
      if (next() < 0.3) properties.contentType = 'text/plain'
      if (next() < 0.3) properties.userProperties = { k: 'v', ['é'.repeat(int(3))]: 'x' }
      if (next() < 0.3) properties.messageExpiryInterval = int(1000)
      if (next() < 0.3) properties.correlationData = Buffer.from([1, 2, 3])
      if (next() < 0.3) properties.responseTopic = 'reply/here'
      if (next() < 0.3) properties.payloadFormatIndicator = true
      if (next() < 0.3) properties.subscriptionIdentifier = 1 + int(300_000)
    }
    const bytes = mqtt.generate(
      {
        cmd: 'publish',
        topic: `t/${'ü'.repeat(int(4))}/${int(1000)}`,
        qos,
        messageId: qos > 0 ? 1 + int(65_000) : undefined,
        dup: next() < 0.2,
        retain: next() < 0.3,
        payload: Buffer.from(Array.from({ length: int(300) }, () => int(256))),
        ...(protocolVersion === 5 ? { properties } : {}),
      },
      { protocolVersion },
    )
    const expected = reference(bytes, protocolVersion)
    const actual = decodePublish(bytes, headerLength(bytes), protocolVersion)
    assert.equal(typeof expected, 'object', `mqtt-packet read packet ${i}`)
    assert.equal(typeof actual, 'object', `decodePublish read packet ${i}: ${String(actual)}`)
    assert.deepEqual(
      essentials(actual as IPublishPacket),
      essentials(expected as IPublishPacket),
      `packet ${i}`,
    )
  }
})

test('decodePublish says what is wrong with a broken PUBLISH', () => {
  const cases: Array<[string, number[], number, string]> = [
    ['no topic length', [0x30, 0x01, 0x00], 4, 'PUBLISH too short for its topic'],
    ['topic past the end', [0x30, 0x03, 0x00, 0x05, 0x61], 4, 'PUBLISH topic longer than the packet'],
    ['QoS 1 without an id', [0x32, 0x03, 0x00, 0x01, 0x61], 4, 'PUBLISH too short for its message id'],
    [
      'v5 unknown property',
      [0x30, 0x05, 0x00, 0x01, 0x61, 0x01, 0x7f],
      5,
      'PUBLISH has an unknown property 0x7f',
    ],
    [
      'v5 properties too long',
      [0x30, 0x05, 0x00, 0x01, 0x61, 0x09, 0x01],
      5,
      'PUBLISH properties longer than the packet',
    ],
    [
      'v5 string property cut',
      [0x30, 0x07, 0x00, 0x01, 0x61, 0x02, 0x03, 0x00],
      5,
      'PUBLISH property runs past the properties',
    ],
  ]
  for (const [name, bytes, version, message] of cases)
    assert.equal(decodePublish(Buffer.from(bytes), 2, version), message, name)
})
