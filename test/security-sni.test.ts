import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createSecureContext } from 'node:tls'
import { createWebhook, loadConfig } from '../src/index.ts'
import type { FailedReport } from '../src/webhook-types.ts'
import { makeTestCertificates, type TestCertificates } from './helpers/certs.ts'
import { type Receiver, startReceiver } from './helpers/receiver.ts'

// A receiver whose only certificate is for `localhost`, reached as https://127.0.0.1 (and as https://localhost):
// what each server_name_indication value sends in the handshake, and whether the delivery gets through.
let certs: TestCertificates
let receiver: Receiver
let dir: string
/** The SNI of every handshake that sent one (a handshake without SNI never reaches SNICallback). */
const seen: string[] = []

before(async () => {
  certs = makeTestCertificates()
  dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-sni-'))
  const context = createSecureContext({ cert: certs.localhostOnly.cert, key: certs.localhostOnly.key })
  receiver = await startReceiver({
    tls: {
      cert: certs.localhostOnly.cert,
      key: certs.localhostOnly.key,
      SNICallback: (servername, done) => {
        seen.push(servername)
        done(null, context)
      },
    },
  })
})

after(async () => {
  await receiver.close()
  certs.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

async function deliver(
  host: string,
  sni: string,
): Promise<{ delivered: boolean; failure?: FailedReport; sni: string[] }> {
  const path = join(dir, `sni-${seen.length}-${Math.random().toString(36).slice(2)}.conf`)
  writeFileSync(
    path,
    `webhook {\n  url = "https://${host}:${receiver.port}/hook"\n  ssl {\n    cacertfile = "${certs.ca.certFile}"\n    server_name_indication = ${sni}\n  }\n  events = [{ event = on_client_connack }]\n}\n`,
  )
  const config = { ...loadConfig(path), retry: { max_attempts: 1 } }
  const webhook = createWebhook(config)
  const before = seen.length
  const accepted = receiver.accepted.length
  let failure: FailedReport | undefined
  webhook.on('failed', (report) => {
    failure = report
  })
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c1',
    conn_ack: 'success',
    proto_ver: 4,
    keepalive: 60,
  })
  await webhook.flush()
  await webhook.close()
  const result: { delivered: boolean; failure?: FailedReport; sni: string[] } = {
    delivered: receiver.accepted.length > accepted,
    sni: seen.slice(before),
  }
  if (failure) result.failure = failure
  return result
}

test('server_name_indication = "localhost": sent, checked against the certificate, delivered', async () => {
  const result = await deliver('127.0.0.1', '"localhost"')
  assert.equal(result.delivered, true)
  assert.deepEqual(result.sni, ['localhost'])
})

test('server_name_indication = true at https://127.0.0.1: no name "true" is sent; the IP does not match', async () => {
  const result = await deliver('127.0.0.1', 'true')
  assert.equal(result.delivered, false)
  assert.deepEqual(result.sni, [])
  assert.equal(result.failure?.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
  assert.doesNotMatch(result.failure?.message ?? '', /"true"|'true'/)
})

test('server_name_indication = true at https://localhost: the url host is sent, delivered', async () => {
  const result = await deliver('localhost', 'true')
  assert.equal(result.delivered, true)
  assert.deepEqual(result.sni, ['localhost'])
})

test('server_name_indication = false: loads (NanoMQ example value), sends no name, still checks the host', async () => {
  const byName = await deliver('localhost', 'false')
  assert.equal(byName.delivered, true)
  assert.deepEqual(byName.sni, [])
  const byIp = await deliver('127.0.0.1', 'false')
  assert.equal(byIp.delivered, false)
  assert.deepEqual(byIp.sni, [])
  assert.equal(byIp.failure?.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
})
