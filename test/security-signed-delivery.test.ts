import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, type TestContext, test } from 'node:test'
import { Webhook as Verifier, WebhookVerificationError } from 'standardwebhooks'
import type { WebhookConfig } from '../src/config-types.ts'
import type { MessagePublishEvent } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import type { Webhook, WebhookRequest } from '../src/webhook-types.ts'
import { makeTestCertificates, type TestCertificates } from './helpers/certs.ts'
import { type ReceivedRequest, type ReceiverOptions, startReceiver } from './helpers/receiver.ts'

const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const NEXT_SECRET = `whsec_${randomBytes(24).toString('base64')}`
const UNRELATED_SECRET = `whsec_${randomBytes(32).toString('base64')}`

function publish(topic: string, payload = 'hello'): MessagePublishEvent {
  return {
    event: 'on_message_publish',
    ts: 1706703724960,
    topic,
    retain: false,
    qos: 1,
    from_username: 'u1',
    from_client_id: 'c1',
    payload: Buffer.from(payload),
  }
}

/** What the receiver must hand to the verifier: the Standard Webhooks headers, as received. */
function signedHeaders(request: ReceivedRequest): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = request.headers[name]
    assert.equal(typeof value, 'string', `${name} is missing`)
    headers[name] = value as string
  }
  return headers
}

/** Verifies `request` with the reference implementation; returns the parsed body it vouches for. */
function verify(secret: string, request: ReceivedRequest): unknown {
  return new Verifier(secret).verify(request.body, signedHeaders(request))
}

async function receiver(t: TestContext, options: ReceiverOptions = {}) {
  const started = await startReceiver(options)
  t.after(() => started.close())
  return started
}

function webhook(t: TestContext, config: Omit<WebhookConfig, 'events'>): Webhook {
  const created = createWebhook({
    events: [{ event: 'on_message_publish' }],
    retry: { max_attempts: 3, base_delay: 1, max_delay: 2000 },
    ...config,
  } as WebhookConfig)
  t.after(() => created.close({ timeout_ms: 1000 }))
  return created
}

describe('signed delivery, verified by the standardwebhooks package', () => {
  test('every request verifies, each event with its own id', async (t) => {
    const server = await receiver(t)
    const hook = webhook(t, { url: server.url, secret: SECRET })
    const topics = ['a/1', 'a/2', 'a/3', 'a/4', 'a/5']
    for (const topic of topics) hook.handle(publish(topic))
    await server.waitForAccepted(topics.length)
    const verified = server.accepted.map((request) => verify(SECRET, request) as { topic: string })
    assert.deepEqual(verified.map((body) => body.topic).sort(), topics)
    const ids = new Set(server.accepted.map((request) => request.headers['webhook-id']))
    assert.equal(ids.size, topics.length)
    for (const request of server.accepted) {
      assert.match(request.headers['webhook-signature'] as string, /^v1,[A-Za-z0-9+/]{43}=$/)
    }
  })

  test('the signature covers the exact bytes sent, multi-byte payloads included', async (t) => {
    const server = await receiver(t)
    const hook = webhook(t, { url: server.url, secret: SECRET })
    hook.handle(publish('ü/ß', 'héllo ✓ 😀 "quoted" \\ back'))
    const [request] = await server.waitForAccepted(1)
    assert.ok(request)
    assert.deepEqual(verify(SECRET, request), JSON.parse(request.body))
    assert.equal((JSON.parse(request.body) as { payload: string }).payload, 'héllo ✓ 😀 "quoted" \\ back')
  })

  test('a retry keeps the id, carries the timestamp of its own attempt, and both verify', async (t) => {
    const server = await receiver(t, {
      // `Retry-After: 1` holds the second attempt back at least a second: its timestamp must be later.
      reply: (_request, index) => (index === 0 ? { status: 503, headers: { 'retry-after': '1' } } : 200),
    })
    const hook = webhook(t, { url: server.url, secret: SECRET })
    hook.handle(publish('a/retry'))
    await server.waitForAccepted(1)
    await hook.flush()
    assert.equal(server.requests.length, 2)
    const [first, second] = server.requests as [ReceivedRequest, ReceivedRequest]
    assert.equal(first.headers['webhook-id'], second.headers['webhook-id'])
    assert.equal(first.body, second.body)
    assert.ok(
      Number(second.headers['webhook-timestamp']) > Number(first.headers['webhook-timestamp']),
      `timestamps ${first.headers['webhook-timestamp']} then ${second.headers['webhook-timestamp']}`,
    )
    assert.deepEqual(verify(SECRET, first), JSON.parse(first.body))
    assert.deepEqual(verify(SECRET, second), JSON.parse(second.body))
    assert.equal(hook.stats().retried, 1)
    assert.equal(hook.stats().success, 1)
  })

  test('two secrets: two signatures, each secret alone verifies, another secret does not', async (t) => {
    const server = await receiver(t)
    const hook = webhook(t, { url: server.url, secret: [SECRET, NEXT_SECRET] })
    hook.handle(publish('a/rotate'))
    hook.handle(publish('a/rotate2'))
    await server.waitForAccepted(2)
    for (const request of server.accepted) {
      assert.equal((request.headers['webhook-signature'] as string).split(' ').length, 2)
      assert.deepEqual(verify(SECRET, request), JSON.parse(request.body))
      assert.deepEqual(verify(NEXT_SECRET, request), JSON.parse(request.body))
      assert.throws(() => verify(UNRELATED_SECRET, request), WebhookVerificationError)
    }
  })

  test('a tampered body, or a replayed id, fails verification', async (t) => {
    const server = await receiver(t)
    const hook = webhook(t, { url: server.url, secret: SECRET })
    hook.handle(publish('a/1'))
    hook.handle(publish('a/2'))
    const [one, two] = (await server.waitForAccepted(2)) as [ReceivedRequest, ReceivedRequest]
    const verifier = new Verifier(SECRET)
    assert.throws(
      () => verifier.verify(one.body.replace('"qos":1', '"qos":0'), signedHeaders(one)),
      WebhookVerificationError,
    )
    assert.throws(() => verifier.verify(`${one.body} `, signedHeaders(one)), WebhookVerificationError)
    assert.throws(
      () =>
        verifier.verify(two.body, {
          ...signedHeaders(two),
          'webhook-id': signedHeaders(one)['webhook-id'] as string,
        }),
      WebhookVerificationError,
    )
    assert.throws(
      () =>
        verifier.verify(two.body, {
          ...signedHeaders(two),
          'webhook-signature': signedHeaders(one)['webhook-signature'] as string,
        }),
      WebhookVerificationError,
    )
  })

  test('options.send receives the same verifiable headers', async (t) => {
    const sent: WebhookRequest[] = []
    const hook = createWebhook(
      { url: 'https://127.0.0.1:1/hook', events: [{ event: 'on_message_publish' }], secret: SECRET },
      {
        send: async (request) => {
          sent.push(request)
          return { status: 204 }
        },
      },
    )
    t.after(() => hook.close({ timeout_ms: 1000 }))
    hook.handle(publish('a/custom'))
    await hook.flush()
    assert.equal(sent.length, 1)
    const request = sent[0] as WebhookRequest
    assert.deepEqual(new Verifier(SECRET).verify(request.body, request.headers), JSON.parse(request.body))
    assert.equal(request.headers['content-type'], 'application/json')
  })
})

describe('signed delivery over mutual TLS', () => {
  let certs: TestCertificates
  before(() => {
    certs = makeTestCertificates()
  })
  after(() => certs.cleanup())

  test('the receiver sees the client certificate and verifies the signature', async (t) => {
    const server = await receiver(t, {
      tls: {
        cert: certs.server.cert,
        key: certs.server.key,
        ca: certs.ca.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
    })
    const hook = webhook(t, {
      url: server.url,
      secret: SECRET,
      tls: { cacertfile: certs.ca.certFile, certfile: certs.client.certFile, keyfile: certs.client.keyFile },
    })
    hook.handle(publish('a/mtls'))
    const [request] = await server.waitForAccepted(1)
    assert.ok(request)
    assert.equal(request.peerCommonName, 'webhook-client')
    assert.deepEqual(verify(SECRET, request), JSON.parse(request.body))
  })
})
