import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createWebhook, loadConfig } from '../src/index.ts'
import { ConfigFileError } from '../src/load-config/index.ts'
import { makeTestCertificates } from './helpers/certs.ts'

/** One fixture per shape NanoMQ or EMQX 4 shipped; each file says which releases. */
const shape = (name: string) => fileURLToPath(new URL(`fixtures/shapes/${name}`, import.meta.url))

test('NanoMQ 0.10-0.13.5 flat web.hook.* lines: server_name_indication=false loads as "send none"', () => {
  assert.deepEqual(loadConfig(shape('nanomq-0.10-web_hook.conf')), {
    enable: true,
    url: 'https://127.0.0.1:8443/nanomq/0.10',
    headers: { 'content-type': 'application/json', accept: '*' },
    body: { encoding: 'base64' },
    tls: { verify_peer: true, server_name_indication: false },
    pool_size: 16,
    events: [
      { event: 'on_client_connack' },
      { event: 'on_client_disconnected' },
      { event: 'on_message_publish', topic: 'a/b/c' },
      { event: 'on_message_publish', topic: 'foo/#' },
    ],
  })
})

test('NanoMQ 0.13.6: rules as dotted keys outside the block, bridge arrays without =', () => {
  assert.deepEqual(loadConfig(shape('nanomq-0.13.6.conf')), {
    enable: true,
    url: 'http://127.0.0.1:8080/nanomq/0.13.6',
    headers: { 'content-type': 'application/json' },
    body: { encoding: 'plain' },
    pool_size: 8,
    events: [{ event: 'on_client_connack' }, { event: 'on_message_publish', topic: 'sensors/#' }],
  })
})

test('NanoMQ 0.13.8-0.18: rules inside and outside the block, several per array, one object, topic only', () => {
  assert.deepEqual(loadConfig(shape('nanomq-0.14-rules.conf')), {
    enable: true,
    url: 'http://127.0.0.1:8080/nanomq/0.14',
    headers: { 'content-type': 'application/json' },
    body: { encoding: 'base62' },
    pool_size: 4,
    events: [
      { event: 'on_client_connack' },
      { event: 'on_client_disconnected' },
      { event: 'on_message_publish', topic: 'a/#' },
      { event: 'on_message_publish', topic: 'b/+' },
      { event: 'on_message_delivered', topic: 'c/#' },
    ],
  })
})

test('NanoMQ 0.19-0.25: events, an ssl block with enable = false, a single-quoted topic', () => {
  assert.deepEqual(loadConfig(shape('nanomq-0.19.conf')), {
    url: 'https://127.0.0.1:8443/nanomq/0.19',
    headers: { 'content-type': 'application/json' },
    body: { encoding: 'plain' },
    pool_size: 32,
    cancel_timeout: 3000,
    events: [{ event: 'on_message_publish', topic: 'nmq/#' }, { event: 'on_client_connack' }],
  })
})

test('EMQX 4.0-4.1: api.url and encode_payload', () => {
  assert.deepEqual(loadConfig(shape('emqx-4.0.conf')), {
    url: 'http://127.0.0.1:8080/emqx/4.0',
    body: { encoding: 'base62' },
    events: [
      { event: 'on_client_connect' },
      { event: 'on_client_connected' },
      { event: 'on_session_subscribed', topic: 't/#' },
      { event: 'on_message_publish' },
    ],
  })
})

test('EMQX 4.2: headers, pool_size, and ssl = off leaves the ssl files unused', () => {
  assert.deepEqual(loadConfig(shape('emqx-4.2.conf')), {
    url: 'http://127.0.0.1:8080/emqx/4.2',
    headers: { token: 'your-token' },
    body: { encoding: 'base64' },
    pool_size: 32,
    events: [
      { event: 'on_client_disconnected' },
      { event: 'on_message_delivered', topic: 'd/+' },
      { event: 'on_message_acked' },
    ],
  })
})

test('EMQX 4.3-4.4 as shipped, every rule commented out: loads, and the webhook sends nothing', async () => {
  const config = loadConfig(shape('emqx-4.4.conf'))
  assert.deepEqual(config, {
    enable: false,
    url: 'http://127.0.0.1:80',
    headers: { 'content-type': 'application/json' },
    body: { encoding: 'plain' },
    pool_size: 32,
    events: [],
  })
  let sends = 0
  const webhook = createWebhook(config, {
    send: async () => {
      sends++
      return { status: 200 }
    },
  })
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c',
    conn_ack: 'success',
    proto_ver: 4,
    keepalive: 60,
  })
  await webhook.close()
  assert.equal(sends, 0)
})

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-shapes-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('relative TLS paths are taken from the config file directory, not the working directory', () => {
  const certs = makeTestCertificates()
  try {
    const confDir = join(dir, 'etc')
    mkdirSync(join(confDir, 'certs'), { recursive: true })
    writeFileSync(join(confDir, 'certs', 'ca.pem'), certs.ca.cert)
    writeFileSync(join(confDir, 'certs', 'client.pem'), certs.client.cert)
    writeFileSync(join(confDir, 'certs', 'client.key'), certs.client.key)
    const hocon = join(confDir, 'nanomq.conf')
    writeFileSync(
      hocon,
      'webhook {\n  url = "https://127.0.0.1:8443/h"\n  ssl {\n    enable = true\n    cacertfile = "certs/ca.pem"\n    certfile = "./certs/client.pem"\n    keyfile = "certs/client.key"\n  }\n  events = [{ event = on_client_connack }]\n}\n',
    )
    assert.deepEqual(loadConfig(hocon).ssl, {
      cacertfile: join(confDir, 'certs', 'ca.pem'),
      certfile: join(confDir, 'certs', 'client.pem'),
      keyfile: join(confDir, 'certs', 'client.key'),
    })
    const legacy = join(confDir, 'emqx_web_hook.conf')
    writeFileSync(
      legacy,
      'web.hook.url = https://127.0.0.1:8443/h\nweb.hook.ssl.cacertfile = certs/ca.pem\nweb.hook.rule.client.connack.1 = {"action": "on_client_connack"}\n',
    )
    assert.equal(loadConfig(legacy).tls?.cacertfile, join(confDir, 'certs', 'ca.pem'))
    // A missing relative file is reported with the path it was looked for at, and where the file names it.
    writeFileSync(
      legacy,
      'web.hook.url = https://127.0.0.1:8443/h\nweb.hook.ssl.cacertfile = certs/missing.pem\nweb.hook.rule.client.connack.1 = {"action": "on_client_connack"}\n',
    )
    assert.throws(() => loadConfig(legacy), {
      name: 'ConfigFileError',
      message: `${legacy}:2:1: web.hook.ssl.cacertfile: cannot read ${join(confDir, 'certs', 'missing.pem')} (ENOENT)`,
    })
  } finally {
    certs.cleanup()
  }
})

test('a rule whose action names another event than its key is refused where it is written', () => {
  const path = join(dir, 'mismatch.conf')
  writeFileSync(
    path,
    'webhook {\n  enable = true\n  url = "http://127.0.0.1/h"\n}\nwebhook.rule.client.connect = [{action: on_client_connected}]\n',
  )
  assert.throws(
    () => loadConfig(path),
    (error: unknown) => {
      assert.ok(error instanceof ConfigFileError)
      assert.equal(
        error.message,
        `${path}:5:33: webhook.rule.client.connect[0].action: the rule under webhook.rule.client.connect fires on_client_connect; its action must be on_client_connect or left out`,
      )
      return true
    },
  )
})

test('0.14-style rules without enable = true load disabled, as NanoMQ 0.14-0.18 fire nothing then', () => {
  const path = join(dir, 'no-enable.conf')
  writeFileSync(path, 'webhook.rule.client.connack = [{action: on_client_connack}]\n')
  assert.deepEqual(loadConfig(path), { enable: false, events: [{ event: 'on_client_connack' }] })
})
