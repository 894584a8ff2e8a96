import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventsNamed, startAttachedAedes } from './helpers/aedes.ts'
import { closeClient, connectClient } from './helpers/mqtt.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

test('subscribe fires one client_subscribe per filter as asked, and session_subscribed only for granted filters with the granted qos', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook, {
    authorizeSubscribe: (_client, subscription, done) => {
      done(null, subscription.topic.startsWith('secret/') ? null : subscription)
    },
  })
  const client = await connectClient(t, url, { clientId: 's1', username: 'u1' })
  // mqtt.js rejects a SUBACK with a refusal in it; the SUBACK is on the error.
  const refusal = await client
    .subscribeAsync({ 'a/+': { qos: 2 }, 'secret/x': { qos: 1 }, b: { qos: 1 } })
    .then(
      () => assert.fail('the refusal of secret/x must reach the client'),
      (error: { packet?: { granted?: number[] } }) => error,
    )
  assert.deepEqual(refusal.packet?.granted, [2, 128, 1])
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_subscribed').length === 2)

  assert.deepEqual(eventsNamed(webhook.events, 'on_client_subscribe', 'on_session_subscribed'), [
    { event: 'on_client_subscribe', clientid: 's1', username: 'u1', topic: 'a/+', opts: { qos: 2 } },
    { event: 'on_client_subscribe', clientid: 's1', username: 'u1', topic: 'secret/x', opts: { qos: 1 } },
    { event: 'on_client_subscribe', clientid: 's1', username: 'u1', topic: 'b', opts: { qos: 1 } },
    { event: 'on_session_subscribed', clientid: 's1', username: 'u1', topic: 'a/+', opts: { qos: 2 } },
    { event: 'on_session_subscribed', clientid: 's1', username: 'u1', topic: 'b', opts: { qos: 1 } },
  ])
})

test('unsubscribe fires client_unsubscribe per filter and session_unsubscribed only for filters that were held', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const client = await connectClient(t, url, { clientId: 's2', username: 'u2' })
  await client.subscribeAsync({ 'x/#': { qos: 1 }, y: { qos: 0 } })
  await client.unsubscribeAsync(['x/#', 'never'])
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_unsubscribed').length === 1)

  assert.deepEqual(eventsNamed(webhook.events, 'on_client_unsubscribe', 'on_session_unsubscribed'), [
    { event: 'on_client_unsubscribe', clientid: 's2', username: 'u2', topic: 'x/#', opts: {} },
    { event: 'on_client_unsubscribe', clientid: 's2', username: 'u2', topic: 'never', opts: {} },
    { event: 'on_session_unsubscribed', clientid: 's2', username: 'u2', topic: 'x/#' },
  ])
})

test("a clean session's teardown at disconnect is no session_unsubscribed (EMQX): the session is terminated", async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const client = await connectClient(t, url, { clientId: 's3', username: 'u3' })
  await client.subscribeAsync({ kept: { qos: 1 } })
  await closeClient(client)
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_terminated').length === 1)
  assert.deepEqual(
    eventsNamed(webhook.events, 'on_client_unsubscribe', 'on_session_unsubscribed', 'on_session_terminated'),
    [{ event: 'on_session_terminated', clientid: 's3', username: 'u3', reason: 'abnormal' }],
  )
})

test('a persistent session restored at reconnect fires no subscribe events; its filters still count for unsubscribe', async (t) => {
  const webhook = recordingWebhook()
  const { url } = await startAttachedAedes(t, webhook)
  const first = await connectClient(t, url, { clientId: 's4', username: 'u4', clean: false })
  await first.subscribeAsync({ 'r/#': { qos: 1 } })
  await first.endAsync()
  await webhook.waitFor((events) => eventsNamed(events, 'on_client_disconnected').length === 1)

  const second = await connectClient(t, url, { clientId: 's4', username: 'u4', clean: false })
  assert.equal(second.connected, true)
  await second.unsubscribeAsync('r/#')
  await webhook.waitFor((events) => eventsNamed(events, 'on_session_unsubscribed').length === 1)

  assert.deepEqual(
    eventsNamed(
      webhook.events,
      'on_client_subscribe',
      'on_session_subscribed',
      'on_client_unsubscribe',
      'on_session_unsubscribed',
    ),
    [
      { event: 'on_client_subscribe', clientid: 's4', username: 'u4', topic: 'r/#', opts: { qos: 1 } },
      { event: 'on_session_subscribed', clientid: 's4', username: 'u4', topic: 'r/#', opts: { qos: 1 } },
      { event: 'on_client_unsubscribe', clientid: 's4', username: 'u4', topic: 'r/#', opts: {} },
      { event: 'on_session_unsubscribed', clientid: 's4', username: 'u4', topic: 'r/#' },
    ],
  )
})
