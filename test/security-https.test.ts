import assert from 'node:assert/strict'
import { after, before, describe, type TestContext, test } from 'node:test'
import type { WebhookConfig } from '../src/config-types.ts'
import type { MessagePublishEvent } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import type { FailedReport, Webhook } from '../src/webhook-types.ts'
import { makeTestCertificates, type TestCertificates } from './helpers/certs.ts'
import { type ReceiverOptions, startReceiver } from './helpers/receiver.ts'

let certs: TestCertificates
before(() => {
  certs = makeTestCertificates()
})
after(() => certs.cleanup())

const PUBLISH: MessagePublishEvent = {
  event: 'on_message_publish',
  ts: 1706703724960,
  topic: 'a/b',
  retain: false,
  qos: 1,
  from_username: 'u1',
  from_client_id: 'c1',
  payload: Buffer.from('hello'),
}
const PUBLISH_BODY = {
  ts: 1706703724960,
  topic: 'a/b',
  retain: false,
  qos: 1,
  action: 'message_publish',
  from_username: 'u1',
  from_client_id: 'c1',
  payload: 'hello',
}

async function receiver(t: TestContext, tls: ReceiverOptions['tls']) {
  const started = await startReceiver({ tls })
  t.after(() => started.close())
  return started
}

function webhook(t: TestContext, config: Omit<WebhookConfig, 'events'>): Webhook {
  const created = createWebhook({
    events: [{ event: 'on_message_publish' }],
    // Retries of a certificate error would show as more than one attempt in the report.
    retry: { max_attempts: 5, base_delay: 1, max_delay: 5 },
    ...config,
  } as WebhookConfig)
  t.after(() => created.close({ timeout_ms: 1000 }))
  return created
}

/** Handles one publish and waits for its `failed` report. */
async function failureOf(hook: Webhook): Promise<FailedReport> {
  const failed = new Promise<FailedReport>((resolve) => hook.once('failed', resolve))
  hook.handle(PUBLISH)
  return failed
}

describe('https endpoints', () => {
  test('a server certificate signed by the trusted CA delivers', async (t) => {
    const server = await receiver(t, { cert: certs.server.cert, key: certs.server.key })
    const hook = webhook(t, { url: server.url, tls: { cacertfile: certs.ca.certFile } })
    hook.handle(PUBLISH)
    await server.waitForAccepted(1)
    await hook.flush()
    assert.deepEqual(server.acceptedBodies(), [PUBLISH_BODY])
    assert.equal(hook.stats().success, 1)
  })

  test('the ssl alias works like tls', async (t) => {
    const server = await receiver(t, { cert: certs.server.cert, key: certs.server.key })
    const hook = webhook(t, { url: server.url, ssl: { cacertfile: certs.ca.certFile } })
    hook.handle(PUBLISH)
    await server.waitForAccepted(1)
    assert.deepEqual(server.acceptedBodies(), [PUBLISH_BODY])
  })

  test('a certificate from an unknown CA fails at once, with its code, and is not retried', async (t) => {
    const server = await receiver(t, { cert: certs.server.cert, key: certs.server.key })
    const hook = webhook(t, { url: server.url, tls: { cacertfile: certs.otherCa.certFile } })
    const report = await failureOf(hook)
    assert.equal(report.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    assert.equal(report.attempts, 1)
    assert.equal(report.status, undefined)
    assert.match(report.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate/)
    assert.equal(server.requests.length, 0)
    const stats = hook.stats()
    assert.equal(stats.failed, 1)
    assert.equal(stats.retried, 0)
  })

  test('without cacertfile a private CA is not trusted', async (t) => {
    const server = await receiver(t, { cert: certs.server.cert, key: certs.server.key })
    const hook = webhook(t, { url: server.url })
    const report = await failureOf(hook)
    assert.equal(report.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    assert.equal(report.attempts, 1)
  })

  test('an expired certificate fails at once with its code', async (t) => {
    const server = await receiver(t, { cert: certs.expired.cert, key: certs.expired.key })
    const hook = webhook(t, { url: server.url, tls: { cacertfile: certs.ca.certFile } })
    const report = await failureOf(hook)
    assert.equal(report.code, 'CERT_HAS_EXPIRED')
    assert.equal(report.attempts, 1)
    assert.equal(server.requests.length, 0)
  })

  test('a self-signed certificate fails by default', async (t) => {
    const server = await receiver(t, { cert: certs.selfSigned.cert, key: certs.selfSigned.key })
    const hook = webhook(t, { url: server.url })
    const report = await failureOf(hook)
    assert.equal(report.code, 'DEPTH_ZERO_SELF_SIGNED_CERT')
    assert.equal(report.attempts, 1)
    assert.equal(server.requests.length, 0)
  })

  test('verify_peer: false delivers to a self-signed server, and warns once at creation', async (t) => {
    const server = await receiver(t, { cert: certs.selfSigned.cert, key: certs.selfSigned.key })
    const warnings: Array<{ obj: object; msg: string | undefined }> = []
    const logger = {
      debug() {},
      info() {},
      warn: (obj: object, msg?: string) => warnings.push({ obj, msg }),
      error() {},
    }
    const hook = createWebhook(
      {
        url: server.url.replace('/hook', '/hook?k=v'),
        events: [{ event: 'on_message_publish' }],
        tls: { verify_peer: false },
      },
      { logger },
    )
    t.after(() => hook.close({ timeout_ms: 1000 }))
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]?.msg ?? '', /verify_peer is false/)
    hook.handle(PUBLISH)
    hook.handle(PUBLISH)
    await server.waitForAccepted(2)
    assert.deepEqual(server.acceptedBodies(), [PUBLISH_BODY, PUBLISH_BODY])
    assert.equal(server.accepted[0]?.path, '/hook?k=v')
    assert.equal(warnings.length, 1)
  })

  test('the certificate name is checked: a certificate for localhost only fails against 127.0.0.1', async (t) => {
    const server = await receiver(t, { cert: certs.localhostOnly.cert, key: certs.localhostOnly.key })
    const hook = webhook(t, { url: server.url, tls: { cacertfile: certs.ca.certFile } })
    const report = await failureOf(hook)
    assert.equal(report.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
    assert.equal(report.attempts, 1)
  })

  test('server_name_indication sends and checks another name than the url host', async (t) => {
    let servername: string | false | undefined
    const server = await receiver(t, {
      cert: certs.localhostOnly.cert,
      key: certs.localhostOnly.key,
      SNICallback: (name, callback) => {
        servername = name
        callback(null)
      },
    })
    const hook = webhook(t, {
      url: server.url,
      tls: { cacertfile: certs.ca.certFile, server_name_indication: 'localhost' },
    })
    hook.handle(PUBLISH)
    await server.waitForAccepted(1)
    assert.equal(servername, 'localhost')
    assert.deepEqual(server.acceptedBodies(), [PUBLISH_BODY])
  })
})

describe('mutual TLS', () => {
  const requireClientCertificate = () => ({
    cert: certs.server.cert,
    key: certs.server.key,
    ca: certs.ca.cert,
    requestCert: true,
    rejectUnauthorized: true,
  })

  test('delivers with the client certificate, which the server sees', async (t) => {
    const server = await receiver(t, requireClientCertificate())
    const hook = webhook(t, {
      url: server.url,
      tls: { cacertfile: certs.ca.certFile, certfile: certs.client.certFile, keyfile: certs.client.keyFile },
    })
    hook.handle(PUBLISH)
    hook.handle({ ...PUBLISH, topic: 'a/c' })
    await server.waitForAccepted(2)
    assert.deepEqual(
      server.accepted.map((r) => r.peerCommonName),
      ['webhook-client', 'webhook-client'],
    )
    assert.deepEqual(
      server.acceptedBodies().map((b) => (b as { topic: string }).topic),
      ['a/b', 'a/c'],
    )
  })

  test('fails without a client certificate, and nothing is received', async (t) => {
    const server = await receiver(t, requireClientCertificate())
    const hook = webhook(t, {
      url: server.url,
      tls: { cacertfile: certs.ca.certFile },
      retry: { max_attempts: 2, base_delay: 1, max_delay: 5 },
    })
    const report = await failureOf(hook)
    assert.equal(server.requests.length, 0)
    // TLS 1.3: the server's alert arrives after our handshake completed, as the request is sent.
    assert.equal(report.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    assert.equal(report.attempts, 1)
    assert.match(report.message, /certificate required/)
  })

  test('fails with a client certificate from another CA', async (t) => {
    const server = await receiver(t, requireClientCertificate())
    const hook = webhook(t, {
      url: server.url,
      tls: {
        cacertfile: certs.ca.certFile,
        certfile: certs.strangerClient.certFile,
        keyfile: certs.strangerClient.keyFile,
      },
      retry: { max_attempts: 2, base_delay: 1, max_delay: 5 },
    })
    const report = await failureOf(hook)
    assert.equal(server.requests.length, 0)
    // The server alerts (48 unknown_ca) or just closes once it has checked our certificate; either way
    // the refusal fails at once, with a stable code, not retried as a network error.
    assert.match(report.code ?? '', /^(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA|ERR_TLS_CLIENT_CERT_REJECTED)$/)
    assert.equal(report.attempts, 1)
    assert.match(
      report.message,
      /the server (refused the TLS handshake: alert 48 unknown ca|closed the connection right after the TLS handshake)/,
    )
    assert.equal(hook.stats().retried, 0)
    assert.equal(hook.stats().success, 0)
    assert.equal(hook.stats().failed, 1)
  })
})
