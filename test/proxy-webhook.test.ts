import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HOOK_EVENT_NAMES } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import { mosquittoMissing, startMosquitto } from './helpers/mosquitto.ts'
import { expectedBody, receivedBodies, runScenario, sortEvents } from './helpers/mqtt-scenario.ts'
import { startLoopbackProxy } from './helpers/proxy.ts'
import { startReceiver } from './helpers/receiver.ts'

for (const protocolVersion of [4, 5] as const) {
  const name = protocolVersion === 4 ? '3.1.1' : '5'
  test(`proxy + mosquitto + createWebhook, MQTT ${name}: the receiver gets every body of SPEC §4`, {
    skip: mosquittoMissing,
  }, async (t) => {
    const broker = await startMosquitto()
    t.after(() => broker.close())
    const receiver = await startReceiver()
    t.after(() => receiver.close())
    const webhook = createWebhook({ url: receiver.url, events: HOOK_EVENT_NAMES.map((event) => ({ event })) })
    t.after(() => webhook.close())
    const proxy = await startLoopbackProxy(t, broker.port, webhook)
    const expected = await runScenario({
      url: `mqtt://127.0.0.1:${proxy.address.port}`,
      protocolVersion,
      ipaddress: '127.0.0.1',
      suffix: `http-v${protocolVersion}`,
      namesPublisher: true,
    })
    await receiver.waitForAccepted(expected.length, 30_000)
    await webhook.flush()
    assert.deepEqual(receivedBodies(receiver.acceptedBodies()), sortEvents(expected.map(expectedBody)))
    assert.equal(receiver.requests.length, expected.length)
  })
}

test('proxy + mosquitto, on_message_publish with a topic filter and base64: only matching publishes are posted', {
  skip: mosquittoMissing,
}, async (t) => {
  const broker = await startMosquitto()
  t.after(() => broker.close())
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = createWebhook({
    url: receiver.url,
    body: { encoding: 'base64' },
    events: [{ event: 'on_message_publish', topic: 'a/1' }],
  })
  t.after(() => webhook.close())
  const proxy = await startLoopbackProxy(t, broker.port, webhook)
  await runScenario({
    url: `mqtt://127.0.0.1:${proxy.address.port}`,
    protocolVersion: 4,
    ipaddress: '127.0.0.1',
    suffix: 'filtered',
  })
  await webhook.flush()
  assert.deepEqual(receivedBodies(receiver.acceptedBodies()), [
    {
      topic: 'a/1',
      retain: false,
      qos: 1,
      action: 'message_publish',
      from_username: 'undefined',
      from_client_id: 'pub-filtered',
      payload: Buffer.from('m1').toString('base64'),
    },
  ])
})
