import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { IConnectPacket } from 'mqtt-packet'
import { createPacketObserver } from '../src/adapters/packets/observer.ts'
import { plain } from './helpers/mqtt-scenario.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'
import { wrappedPair } from './helpers/stream-pair.ts'

const tick = () => new Promise((resolve) => setImmediate(resolve))

const connect = (
  properties?: IConnectPacket['properties'],
  extra: Partial<IConnectPacket> = {},
): IConnectPacket => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 5,
  clientId: 'c5',
  username: 'u5',
  keepalive: 60,
  clean: true,
  ...(properties ? { properties } : {}),
  ...extra,
})

test('MQTT 5 through wrapStream: the outbound parser speaks v5 (CONNACK properties, PUBLISH properties)', async () => {
  const webhook = recordingWebhook(['on_client_connack', 'on_message_delivered'])
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(undefined, { clientId: '' }), 5)
  await pair.serverSends(
    {
      cmd: 'connack',
      reasonCode: 0,
      sessionPresent: false,
      properties: { assignedClientIdentifier: 'auto-1', topicAliasMaximum: 5 },
    },
    5,
  )
  await pair.serverSends(
    {
      cmd: 'publish',
      topic: 't/1',
      qos: 0,
      dup: false,
      retain: true,
      payload: Buffer.from('body'),
      properties: { contentType: 'text/plain', userProperties: { a: 'b' } },
    },
    5,
  )
  await pair.end()
  assert.deepEqual(plain(webhook.events), [
    {
      event: 'on_client_connack',
      proto_ver: 5,
      keepalive: 60,
      conn_ack: 'success',
      clientid: 'auto-1',
      username: 'u5',
    },
    {
      event: 'on_message_delivered',
      clientid: 'auto-1',
      username: 'u5',
      from_client_id: null,
      from_username: undefined,
      topic: 't/1',
      qos: 0,
      retain: true,
      payload: 'body',
    },
  ])
})

test('MQTT 5 CONNACK with a reason code >= 0x80 is a fail, and no connected or disconnected follows', async () => {
  const webhook = recordingWebhook()
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(), 5)
  await pair.serverSends({ cmd: 'connack', reasonCode: 0x86, sessionPresent: false }, 5)
  await pair.end()
  assert.deepEqual(
    plain(webhook.events).map((e) => [e.event, e.conn_ack]),
    [
      ['on_client_connack', 'fail'],
      ['on_client_connect', undefined],
    ],
  )
})

test('SUBACK: 0x80 (3.1.1) and v5 failure codes do not fire session subscribed; granted QoS is reported', async () => {
  for (const [version, granted] of [
    [4, [1, 0x80, 2]],
    [5, [1, 0x87, 2]],
  ] as const) {
    const webhook = recordingWebhook(['on_session_subscribed'])
    const pair = wrappedPair(webhook)
    await pair.clientSends(connect(undefined, { protocolVersion: version }), version)
    await pair.serverSends({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false }, version)
    await pair.clientSends(
      {
        cmd: 'subscribe',
        messageId: 7,
        subscriptions: [
          { topic: 'a', qos: 2 },
          { topic: 'b', qos: 2 },
          { topic: 'c', qos: 2 },
        ],
      },
      version,
    )
    // An unrelated SUBACK id fires nothing.
    await pair.serverSends({ cmd: 'suback', messageId: 8, granted: [0] }, version)
    await pair.serverSends({ cmd: 'suback', messageId: 7, granted: [...granted] }, version)
    await pair.end()
    assert.deepEqual(
      plain(webhook.events),
      [
        { event: 'on_session_subscribed', clientid: 'c5', username: 'u5', topic: 'a', opts: { qos: 1 } },
        { event: 'on_session_subscribed', clientid: 'c5', username: 'u5', topic: 'c', opts: { qos: 2 } },
      ],
      `MQTT ${version}`,
    )
  }
})

test('v5 UNSUBACK: success fires, "no subscription existed" and failures do not', async () => {
  const webhook = recordingWebhook(['on_session_unsubscribed', 'on_client_unsubscribe'])
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(), 5)
  await pair.serverSends({ cmd: 'connack', reasonCode: 0, sessionPresent: false }, 5)
  await pair.clientSends({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['x', 'y', 'z'] }, 5)
  await pair.serverSends({ cmd: 'unsuback', messageId: 3, granted: [0, 0x11, 0x87] }, 5)
  await pair.end()
  const id = { clientid: 'c5', username: 'u5' }
  assert.deepEqual(plain(webhook.events), [
    { event: 'on_client_unsubscribe', ...id, topic: 'x', opts: {} },
    { event: 'on_client_unsubscribe', ...id, topic: 'y', opts: {} },
    { event: 'on_client_unsubscribe', ...id, topic: 'z', opts: {} },
    { event: 'on_session_unsubscribed', ...id, topic: 'x' },
  ])
})

test('session terminated: v5 session expiry decides, DISCONNECT overrides; 3.1.1 clean session decides', async () => {
  const cases: Array<[string, IConnectPacket, IConnectPacket['properties'] | undefined, boolean]> = [
    ['v5, no expiry', connect(), undefined, true],
    ['v5, expiry 300', connect({ sessionExpiryInterval: 300 }), undefined, false],
    [
      'v5, expiry 300, DISCONNECT sets 0',
      connect({ sessionExpiryInterval: 300 }),
      { sessionExpiryInterval: 0 },
      true,
    ],
    ['3.1.1, clean', connect(undefined, { protocolVersion: 4 }), undefined, true],
    ['3.1.1, persistent', connect(undefined, { protocolVersion: 4, clean: false }), undefined, false],
  ]
  for (const [name, connectPacket, disconnectProperties, terminated] of cases) {
    const webhook = recordingWebhook(['on_session_terminated', 'on_client_disconnected'])
    const pair = wrappedPair(webhook)
    const version = connectPacket.protocolVersion ?? 4
    await pair.clientSends(connectPacket, version)
    await pair.serverSends({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false }, version)
    await pair.clientSends(
      { cmd: 'disconnect', ...(disconnectProperties ? { properties: disconnectProperties } : {}) },
      version,
    )
    await pair.end()
    const expected: Record<string, unknown>[] = [
      { event: 'on_client_disconnected', reason: 'normal', username: 'u5', clientid: 'c5' },
    ]
    if (terminated)
      expected.push({ event: 'on_session_terminated', clientid: 'c5', username: 'u5', reason: 'normal' })
    assert.deepEqual(plain(webhook.events), expected, name)
  }
})

test('v5 topic aliases are resolved in both directions; $SYS messages never build events', async () => {
  const webhook = recordingWebhook(['on_message_publish', 'on_message_delivered'])
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(), 5)
  await pair.serverSends({ cmd: 'connack', reasonCode: 0, sessionPresent: false }, 5)
  const publish = { cmd: 'publish', qos: 0, dup: false, retain: false } as const
  await pair.clientSends(
    { ...publish, topic: 'in/long', payload: Buffer.from('1'), properties: { topicAlias: 2 } },
    5,
  )
  await pair.clientSends(
    { ...publish, topic: '', payload: Buffer.from('2'), properties: { topicAlias: 2 } },
    5,
  )
  await pair.clientSends({ ...publish, topic: '$SYS/x', payload: Buffer.from('no') }, 5)
  await pair.serverSends(
    { ...publish, topic: 'out/long', payload: Buffer.from('3'), properties: { topicAlias: 2 } },
    5,
  )
  await pair.serverSends(
    { ...publish, topic: '', payload: Buffer.from('4'), properties: { topicAlias: 2 } },
    5,
  )
  await pair.serverSends({ ...publish, topic: '$SYS/broker/uptime', payload: Buffer.from('no') }, 5)
  await pair.end()
  assert.deepEqual(
    plain(webhook.events).map((e) => [e.event, e.topic, e.payload]),
    [
      ['on_message_delivered', 'out/long', '3'],
      ['on_message_delivered', 'out/long', '4'],
      ['on_message_publish', 'in/long', '1'],
      ['on_message_publish', 'in/long', '2'],
    ],
  )
})

test('acked: PUBACK and PUBCOMP match their delivery by id; a failed v5 PUBREC and unknown ids fire nothing', async () => {
  const webhook = recordingWebhook(['on_message_acked'])
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(), 5)
  await pair.serverSends({ cmd: 'connack', reasonCode: 0, sessionPresent: false }, 5)
  const publish = { cmd: 'publish', dup: false, retain: false } as const
  await pair.serverSends({ ...publish, qos: 0, topic: 'q0', payload: Buffer.from('zero') }, 5)
  await pair.serverSends({ ...publish, qos: 1, messageId: 1, topic: 'q1', payload: Buffer.from('one') }, 5)
  await pair.serverSends({ ...publish, qos: 2, messageId: 2, topic: 'q2', payload: Buffer.from('two') }, 5)
  await pair.serverSends(
    { ...publish, qos: 2, messageId: 3, topic: 'q2', payload: Buffer.from('refused') },
    5,
  )
  await pair.clientSends({ cmd: 'puback', messageId: 1 }, 5)
  await pair.clientSends({ cmd: 'puback', messageId: 1 }, 5)
  await pair.clientSends({ cmd: 'pubrec', messageId: 2 }, 5)
  await pair.clientSends({ cmd: 'pubrec', messageId: 3, reasonCode: 0x80 }, 5)
  await pair.serverSends({ cmd: 'pubrel', messageId: 2 }, 5)
  await pair.clientSends({ cmd: 'pubcomp', messageId: 2 }, 5)
  await pair.clientSends({ cmd: 'pubcomp', messageId: 3 }, 5)
  await pair.clientSends({ cmd: 'puback', messageId: 99 }, 5)
  await pair.end()
  const message = {
    clientid: 'c5',
    username: 'u5',
    from_client_id: null,
    from_username: undefined,
    retain: false,
  }
  assert.deepEqual(plain(webhook.events), [
    { event: 'on_message_acked', ...message, topic: 'q1', qos: 1, payload: 'one' },
    { event: 'on_message_acked', ...message, topic: 'q2', qos: 2, payload: 'two' },
  ])
})

test('only wanted events are built: a webhook that wants publishes is handed nothing else', async () => {
  const webhook = recordingWebhook(['on_message_publish'])
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(undefined, { protocolVersion: 4 }))
  await pair.serverSends({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  await pair.clientSends({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] })
  await pair.serverSends({ cmd: 'suback', messageId: 1, granted: [0] })
  await pair.clientSends({
    cmd: 'publish',
    topic: 'a',
    qos: 0,
    dup: false,
    retain: false,
    payload: Buffer.from('p'),
  })
  await pair.serverSends({
    cmd: 'publish',
    topic: 'a',
    qos: 0,
    dup: false,
    retain: false,
    payload: Buffer.from('p'),
  })
  await pair.clientSends({ cmd: 'disconnect' })
  await pair.end()
  assert.deepEqual(
    plain(webhook.events).map((e) => e.event),
    ['on_message_publish'],
  )
})

test('createPacketObserver used directly: packet objects in, events out, close fires disconnected once', async () => {
  const webhook = recordingWebhook()
  const observer = createPacketObserver(webhook, { remoteAddress: '::1' })
  observer.inbound(
    connect(undefined, { protocolVersion: 4, clientId: 'direct', username: undefined, keepalive: 5 }),
  )
  observer.outbound({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  observer.inbound({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 's/#', qos: 1 }] })
  observer.outbound({ cmd: 'suback', messageId: 4, granted: [1] })
  observer.close(new Error('reset'))
  observer.close()
  await tick()
  const id = { clientid: 'direct', username: undefined }
  assert.deepEqual(plain(webhook.events), [
    { event: 'on_client_connack', proto_ver: 4, keepalive: 5, conn_ack: 'success', ...id },
    { event: 'on_client_connect', ...id, ipaddress: '::1', keepalive: 5, proto_ver: 4 },
    { event: 'on_client_connected', ...id, ipaddress: '::1', keepalive: 5, proto_ver: 4 },
    { event: 'on_client_disconnected', reason: 'abnormal', ...id },
    { event: 'on_client_subscribe', ...id, topic: 's/#', opts: { qos: 1 } },
    { event: 'on_session_subscribed', ...id, topic: 's/#', opts: { qos: 1 } },
    { event: 'on_session_terminated', ...id, reason: 'abnormal' },
  ])
})

test('only acks wanted, MQTT 5: a topic alias set by a QoS 0 delivery still resolves a later QoS 1 one', async () => {
  const webhook = recordingWebhook(['on_message_acked'])
  const pair = wrappedPair(webhook)
  await pair.clientSends(connect(), 5)
  await pair.serverSends({ cmd: 'connack', reasonCode: 0, sessionPresent: false }, 5)
  const publish = { cmd: 'publish', dup: false, retain: false } as const
  await pair.serverSends(
    { ...publish, qos: 0, topic: 'aliased/topic', payload: Buffer.from('a'), properties: { topicAlias: 4 } },
    5,
  )
  await pair.serverSends(
    { ...publish, qos: 1, messageId: 8, topic: '', payload: Buffer.from('b'), properties: { topicAlias: 4 } },
    5,
  )
  await pair.clientSends({ cmd: 'puback', messageId: 8 }, 5)
  await pair.end()
  assert.deepEqual(
    plain(webhook.events).map((e) => [e.event, e.topic, e.payload]),
    [['on_message_acked', 'aliased/topic', 'b']],
  )
})
