import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { mosquittoMissing, startMosquitto } from './helpers/mosquitto.ts'
import { plain, runScenario, scenarioDone, sortEvents } from './helpers/mqtt-scenario.ts'
import { startLoopbackProxy } from './helpers/proxy.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

for (const protocolVersion of [4, 5] as const) {
  test(`proxy in front of mosquitto, MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}: every event`, {
    skip: mosquittoMissing,
  }, async (t) => {
    const broker = await startMosquitto()
    t.after(() => broker.close())
    const webhook = recordingWebhook()
    const proxy = await startLoopbackProxy(t, broker.port, webhook)
    const suffix = `v${protocolVersion}`
    const expected = await runScenario({
      url: `mqtt://127.0.0.1:${proxy.address.port}`,
      protocolVersion,
      ipaddress: '127.0.0.1',
      suffix,
      namesPublisher: true,
    })
    await webhook.waitFor(scenarioDone(suffix))
    assert.deepEqual(plain(webhook.events), sortEvents(expected))
    assert.deepEqual(webhook.errors, [])
  })
}

for (const protocolVersion of [4, 5] as const) {
  test(`proxy, MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}: a rejected login gives connack fail and no connected`, {
    skip: mosquittoMissing,
  }, async (t) => {
    const broker = await startMosquitto({ users: { alice: 'right' } })
    t.after(() => broker.close())
    const webhook = recordingWebhook()
    const proxy = await startLoopbackProxy(t, broker.port, webhook)
    const url = `mqtt://127.0.0.1:${proxy.address.port}`
    const options = { clientId: 'c-bad', keepalive: 15, protocolVersion, reconnectPeriod: 0 }
    await assert.rejects(mqtt.connectAsync(url, { ...options, username: 'alice', password: 'wrong' }))
    const good = await mqtt.connectAsync(url, {
      ...options,
      clientId: 'c-good',
      username: 'alice',
      password: 'right',
    })
    await good.endAsync()
    await webhook.waitFor((events) => events.some((e) => e.event === 'on_client_disconnected'))
    const bad = { clientid: 'c-bad', username: 'alice' }
    const ok = { clientid: 'c-good', username: 'alice' }
    const v = protocolVersion
    assert.deepEqual(
      plain(webhook.events),
      sortEvents([
        { event: 'on_client_connect', ...bad, ipaddress: '127.0.0.1', keepalive: 15, proto_ver: v },
        { event: 'on_client_connack', proto_ver: v, keepalive: 15, conn_ack: 'fail', ...bad },
        { event: 'on_client_connect', ...ok, ipaddress: '127.0.0.1', keepalive: 15, proto_ver: v },
        { event: 'on_client_connack', proto_ver: v, keepalive: 15, conn_ack: 'success', ...ok },
        { event: 'on_client_connected', ...ok, ipaddress: '127.0.0.1', keepalive: 15, proto_ver: v },
        { event: 'on_client_disconnected', reason: 'normal', ...ok },
        { event: 'on_session_terminated', ...ok, reason: 'normal' },
      ]),
    )
  })
}

test('proxy: a message published around the proxy is delivered with from_client_id null', {
  skip: mosquittoMissing,
}, async (t) => {
  const broker = await startMosquitto()
  t.after(() => broker.close())
  const webhook = recordingWebhook(['on_message_delivered'])
  const proxy = await startLoopbackProxy(t, broker.port, webhook)
  const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.address.port}`, {
    clientId: 's',
    reconnectPeriod: 0,
  })
  t.after(() => subscriber.endAsync(true))
  await subscriber.subscribeAsync('d/#', { qos: 0 })
  const direct = await mqtt.connectAsync(broker.url, { clientId: 'around', reconnectPeriod: 0 })
  t.after(() => direct.endAsync(true))
  const proxied = await mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.address.port}`, {
    clientId: 'through',
    username: 'ut',
    reconnectPeriod: 0,
  })
  t.after(() => proxied.endAsync(true))
  await direct.publishAsync('d/1', 'same')
  await webhook.waitFor((events) => events.length === 1)
  await proxied.publishAsync('d/1', 'same')
  await webhook.waitFor((events) => events.length === 2)
  assert.deepEqual(
    webhook.events.map((e) => ('from_client_id' in e ? [e.from_client_id, e.from_username] : [])),
    [
      [null, undefined],
      ['through', 'ut'],
    ],
  )
})
