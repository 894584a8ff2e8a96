import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import { inspect } from 'node:util'
import type { WebhookConfig } from '../src/config-types.ts'
import { WebhookConfigError } from '../src/errors.ts'
import type { MessagePublishEvent } from '../src/events.ts'
import { parseConfigText } from '../src/load-config/index.ts'
import { createWebhook } from '../src/webhook.ts'
import type { FailedReport } from '../src/webhook-types.ts'
import { makeTestCertificates } from './helpers/certs.ts'
import { recordingLogger } from './helpers/logger.ts'
import { startReceiver } from './helpers/receiver.ts'

const SECRET = `whsec_${randomBytes(32).toString('base64')}`
const AUTHORIZATION = 'Bearer leak-canary-7f3a9c'
const CREDENTIAL_URL = 'https://user:secret@127.0.0.1:1/'

/** Every string that must never be shown. */
const FORBIDDEN = ['user:secret', SECRET, SECRET.slice('whsec_'.length), AUTHORIZATION, 'leak-canary-7f3a9c']

function assertClean(label: string, text: string): void {
  for (const forbidden of FORBIDDEN) {
    assert.ok(!text.includes(forbidden), `${label} shows ${JSON.stringify(forbidden)}: ${text}`)
  }
}

const PUBLISH: MessagePublishEvent = {
  event: 'on_message_publish',
  ts: 1706703724960,
  topic: 'a/b',
  retain: false,
  qos: 0,
  from_username: 'u1',
  from_client_id: 'c1',
  payload: Buffer.from('hello'),
}

function configErrorOf(config: unknown): WebhookConfigError {
  try {
    createWebhook(config as WebhookConfig)
  } catch (error) {
    assert.ok(error instanceof WebhookConfigError, `expected WebhookConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('expected createWebhook to throw')
}

function everythingAbout(error: Error): string {
  return [error.message, String(error.stack), JSON.stringify(error), inspect(error, { depth: 5 })].join('\n')
}

describe('thrown configuration errors show no secret', () => {
  const events = [{ event: 'on_message_publish' }]
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'an unknown event',
      { url: CREDENTIAL_URL, events: [{ event: 'on_mesage_publish' }], secret: SECRET },
      'events[0].event',
    ],
    ['a url that is not http(s)', { url: 'ftp://user:secret@127.0.0.1:1/', events, secret: SECRET }, 'url'],
    ['a url that does not parse', { url: 'https://user:secret@/', events, secret: SECRET }, 'url'],
    ['a secret that is not base64', { url: CREDENTIAL_URL, events, secret: `${SECRET}!` }, 'secret'],
    ['a secret without its prefix', { url: CREDENTIAL_URL, events, secret: SECRET.slice(6) }, 'secret'],
    ['a bad second secret', { url: CREDENTIAL_URL, events, secret: [SECRET, `x${SECRET}`] }, 'secret[1]'],
    [
      'an Authorization value with a line break',
      { url: CREDENTIAL_URL, events, secret: SECRET, headers: { authorization: `${AUTHORIZATION}\r\nx: y` } },
      'headers.authorization',
    ],
    [
      'an unreadable CA file',
      { url: CREDENTIAL_URL, events, secret: SECRET, tls: { cacertfile: '/nonexistent/ca.pem' } },
      'tls.cacertfile',
    ],
    [
      'a bad pool size',
      {
        url: CREDENTIAL_URL,
        events,
        secret: SECRET,
        headers: { authorization: AUTHORIZATION },
        pool_size: 0,
      },
      'pool_size',
    ],
  ]
  for (const [name, config, key] of cases) {
    test(name, () => {
      const error = configErrorOf(config)
      assert.equal(error.key, key)
      assertClean('the error', everythingAbout(error))
    })
  }

  test('a config file with a bad secret shows neither the secret nor the url credentials', () => {
    const text = `webhook {\n  url = "${CREDENTIAL_URL}"\n  secret = "${SECRET}!"\n  events = [{ event = "on_message_publish" }]\n}\n`
    let caught: unknown
    try {
      createWebhook(parseConfigText(text, 'nanomq.conf'))
    } catch (error) {
      caught = error
    }
    assert.ok(caught instanceof WebhookConfigError, String(caught))
    assert.match(caught.message, /secret/)
    assertClean('the error', everythingAbout(caught))
  })

  test('a config file with an unterminated secret string shows no secret', () => {
    const text = `webhook {\n  url = "${CREDENTIAL_URL}"\n  secret = "${SECRET}\n  events = [{ event = "on_message_publish" }]\n}\n`
    let caught: unknown
    try {
      createWebhook(parseConfigText(text, 'nanomq.conf'))
    } catch (error) {
      caught = error
    }
    assert.ok(caught instanceof Error, String(caught))
    assertClean('the error', everythingAbout(caught))
  })
})

describe('a failing endpoint with credentials in its url', () => {
  test('the failed report, its message, stats and logs show no credential, secret or header value', async (t) => {
    const { lines, ...logger } = recordingLogger()
    const hook = createWebhook(
      {
        url: CREDENTIAL_URL,
        events: [{ event: 'on_message_publish' }],
        secret: SECRET,
        headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
        retry: { max_attempts: 2, base_delay: 1, max_delay: 5 },
      },
      { logger },
    )
    t.after(() => hook.close({ timeout_ms: 1000 }))
    const errors: Error[] = []
    hook.on('error', (error) => errors.push(error))
    const failed = new Promise<FailedReport>((resolve) => hook.once('failed', resolve))
    hook.handle(PUBLISH)
    const report = await failed
    assert.equal(report.code, 'ECONNREFUSED')
    assert.equal(report.attempts, 2)
    assert.match(report.message, /^POST https:\/\/\*\*\*@127\.0\.0\.1:1\/ failed after 2 attempts: /)
    assertClean('the report', JSON.stringify(report))
    assertClean('the report', inspect(report, { depth: 5 }))
    assertClean('the stats', JSON.stringify(hook.stats()))
    assertClean('the logs', inspect(lines, { depth: 10 }))
    assertClean('the errors', errors.map(everythingAbout).join('\n'))
    assert.equal(
      lines.filter((line) => line.level === 'error').length,
      0,
      'a failed event is not logged at error level',
    )
  })

  test('the unverified-certificate warning shows no credentials', async (t) => {
    const { lines, ...logger } = recordingLogger()
    const hook = createWebhook(
      { url: CREDENTIAL_URL, events: [{ event: 'on_message_publish' }], tls: { verify_peer: false } },
      { logger },
    )
    t.after(() => hook.close({ timeout_ms: 1000 }))
    assert.equal(lines.filter((line) => line.level === 'warn').length, 1)
    assertClean('the warning', inspect(lines, { depth: 10 }))
  })

  test('without a logger the warning goes to process warnings, without credentials', async (t) => {
    const warning = once(process, 'warning') as Promise<[Error]>
    const hook = createWebhook({
      url: CREDENTIAL_URL,
      events: [{ event: 'on_message_publish' }],
      tls: { verify_peer: false },
    })
    t.after(() => hook.close({ timeout_ms: 1000 }))
    const [emitted] = await warning
    assert.match(emitted.message, /verify_peer is false/)
    assertClean('the warning', everythingAbout(emitted))
  })

  test('an HTTP error status: the report and the dropped events on close show nothing secret', async (t) => {
    const server = await startReceiver({ reply: () => 401 })
    t.after(() => server.close())
    const credentialUrl = server.url.replace('http://', 'http://user:secret@')
    const { lines, ...logger } = recordingLogger()
    const hook = createWebhook(
      {
        url: credentialUrl,
        events: [{ event: 'on_message_publish' }],
        secret: SECRET,
        headers: { authorization: AUTHORIZATION },
      },
      { logger },
    )
    const reports: unknown[] = []
    hook.on('failed', (report) => reports.push(report))
    hook.on('dropped', (report) => reports.push(report))
    hook.handle(PUBLISH)
    await hook.flush()
    await hook.close({ timeout_ms: 1000 })
    assert.equal(reports.length, 1)
    const report = reports[0] as FailedReport
    assert.equal(report.status, 401)
    assert.equal(report.attempts, 1)
    assertClean('the report', JSON.stringify(reports))
    assertClean('the stats', JSON.stringify(hook.stats()))
    assertClean('the logs', inspect(lines, { depth: 10 }))
    assert.equal(server.requests.length, 1)
    // Url credentials go out as HTTP Basic, in place of the configured header (docs/security.md).
    assert.equal(
      server.requests[0]?.headers.authorization,
      `Basic ${Buffer.from('user:secret').toString('base64')}`,
    )
  })
})

describe('errors reported by adapters', () => {
  test("an 'error' listener gets the error redacted, message and stack, with its class and code", (t) => {
    const webhook = createWebhook({
      url: CREDENTIAL_URL,
      events: [{ event: 'on_client_connack' }],
      headers: { authorization: AUTHORIZATION },
      secret: SECRET,
    })
    t.after(() => webhook.close({ timeout_ms: 0 }))
    const heard: Error[] = []
    webhook.on('error', (error: Error) => heard.push(error))
    const error = Object.assign(new RangeError(`bad bytes near ${AUTHORIZATION} and ${SECRET}`), {
      code: 'ERR_X',
    })
    webhook.reportError(error)
    assert.equal(heard.length, 1)
    const got = heard[0] as RangeError & { code: string }
    assert.ok(got instanceof RangeError)
    assert.equal(got.code, 'ERR_X')
    assert.match(got.message, /^bad bytes near /)
    assertClean('the message', got.message)
    assertClean('the stack', got.stack ?? '')
    assert.equal(webhook.stats().errors, 1)
  })
})

describe('the webhook object itself', () => {
  test('inspected or stringified, it shows no secret, credential, header value or private key', async (t) => {
    const certs = makeTestCertificates()
    t.after(() => certs.cleanup())
    const hook = createWebhook({
      url: CREDENTIAL_URL,
      events: [{ event: 'on_message_publish' }],
      secret: SECRET,
      headers: { authorization: AUTHORIZATION },
      tls: { cacertfile: certs.ca.certFile, certfile: certs.client.certFile, keyfile: certs.client.keyFile },
    })
    t.after(() => hook.close({ timeout_ms: 1000 }))
    const text = `${inspect(hook, { depth: 20, showHidden: true })}\n${JSON.stringify(hook)}`
    assertClean('the webhook', text)
    const keyBody = certs.client.key.toString('latin1').split('\n')[1] ?? ''
    assert.ok(keyBody.length > 20)
    assert.ok(!text.includes(keyBody), 'the private key shows')
    assert.ok(!text.includes('PRIVATE KEY'), 'the private key shows')
  })
})
