import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { makeTestCertificates } from './helpers/certs.ts'
import { runCli } from './helpers/cli-process.ts'
import { freePort } from './helpers/mosquitto.ts'
import { connectClient, connectRefused } from './helpers/mqtt.ts'

// `mqtt-webhook broker --config nanomq.conf` takes where to listen and who may connect from the same file.
const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-broker-file-'))
const certs = makeTestCertificates()
after(() => {
  certs.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

function write(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const WEBHOOK = 'webhook {\n  enable = false\n  url = "http://127.0.0.1:9/h"\n}\n'

test('allow_anonymous = false and two users (inline and in the included password file), on the bind of the file', async (t) => {
  const port = await freePort()
  write('nanomq_pwd.conf', '# "username":"password", as NanoMQ ships it\n"bob": "secret-b"\n')
  const config = write(
    'auth.conf',
    `listeners.tcp {\n  bind = "127.0.0.1:${port}"\n}\n${WEBHOOK}auth {\n  allow_anonymous = false\n  no_match = allow\n  password = {\n    "alice": "secret-a"\n    include "nanomq_pwd.conf"\n  }\n}\nbridges.mqtt.upstream {\n  server = "mqtt-tcp://127.0.0.1:1883"\n}\n`,
  )
  const cli = runCli(['broker', '--config', config])
  t.after(() => cli.kill())
  await cli.waitForLog(new RegExp(`^mqtt-webhook broker listening on mqtt://127\\.0\\.0\\.1:${port}$`))
  await cli.waitForLog(/^ignored: bridges\.mqtt\.upstream /)
  const url = `mqtt://127.0.0.1:${port}`
  assert.equal(await connectRefused(t, url, { clientId: 'anonymous' }), 4)
  assert.equal(await connectRefused(t, url, { clientId: 'wrong', username: 'alice', password: 'nope' }), 5)
  assert.equal(
    await connectRefused(t, url, { clientId: 'stranger', username: 'eve', password: 'secret-a' }),
    5,
  )
  await connectClient(t, url, { clientId: 'alice', username: 'alice', password: 'secret-a' })
  await connectClient(t, url, { clientId: 'bob', username: 'bob', password: 'secret-b' })
  assert.deepEqual(
    cli.logs.map((line) => line.msg).filter((msg) => msg.startsWith('ignored: ')),
    [
      `ignored: auth.no_match (${config}:10): not done by mqtt-webhook broker`,
      `ignored: bridges.mqtt.upstream (${config}:16): not done by mqtt-webhook broker`,
    ],
  )
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
})

test('the TLS and WebSocket listeners of the file (relative key files, a ws path); --port overrides the file', async (t) => {
  copyFileSync(certs.server.certFile, join(dir, 'server.pem'))
  copyFileSync(certs.server.keyFile, join(dir, 'server.key'))
  const config = write(
    'tls.conf',
    `listeners.tcp {\n  bind = "127.0.0.1:1"\n}\nlisteners.ws {\n  bind = "127.0.0.1:0/mqtt"\n}\nlisteners.ssl {\n  bind = "127.0.0.1:0"\n  keyfile = "server.key"\n  certfile = "./server.pem"\n  verify_peer = false\n  fail_if_no_peer_cert = false\n}\n${WEBHOOK}`,
  )
  const cli = runCli(['broker', '--config', config, '--port', '0'])
  t.after(() => cli.kill())
  const [, tcpPort, wsPort, tlsPort] = await cli.waitForLog(
    /^mqtt-webhook broker listening on mqtt:\/\/127\.0\.0\.1:(\d+) and ws:\/\/127\.0\.0\.1:(\d+)\/mqtt and mqtts:\/\/127\.0\.0\.1:(\d+)$/,
  )
  assert.notEqual(tcpPort, '1')
  await connectClient(t, `ws://127.0.0.1:${wsPort}/mqtt`, { clientId: 'ws-1' })
  await assert.rejects(connectClient(t, `ws://127.0.0.1:${wsPort}/other`, { clientId: 'ws-2' }))
  await connectClient(t, `mqtts://127.0.0.1:${tlsPort}`, { clientId: 'tls-1', ca: certs.ca.cert })
  await connectClient(t, `mqtt://127.0.0.1:${tcpPort}`, { clientId: 'tcp-1' })
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
})

test('verify_peer with fail_if_no_peer_cert: a client without a certificate is refused, one with it accepted', async (t) => {
  const config = write(
    'mtls.conf',
    `listeners.ssl {\n  bind = "127.0.0.1:0"\n  keyfile = "${certs.server.keyFile}"\n  certfile = "${certs.server.certFile}"\n  cacertfile = "${certs.ca.certFile}"\n  verify_peer = true\n  fail_if_no_peer_cert = true\n}\n${WEBHOOK}`,
  )
  const cli = runCli(['broker', '--config', config, '--port', '0'])
  t.after(() => cli.kill())
  const [, tlsPort] = await cli.waitForLog(/ and mqtts:\/\/127\.0\.0\.1:(\d+)$/)
  const url = `mqtts://127.0.0.1:${tlsPort}`
  await connectClient(t, url, {
    clientId: 'with-cert',
    ca: certs.ca.cert,
    cert: certs.client.cert,
    key: certs.client.key,
  })
  await assert.rejects(connectClient(t, url, { clientId: 'no-cert', ca: certs.ca.cert }))
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
})

test('HTTP authentication in the file is refused at start, with its file, line and column', async () => {
  const config = write(
    'http-auth.conf',
    `${WEBHOOK}auth {\n  allow_anonymous = false\n  http_auth = {\n    auth_req { url = "http://127.0.0.1:80/mqtt/auth" }\n  }\n}\n`,
  )
  const cli = runCli(['broker', '--config', config, '--port', '0'])
  assert.equal(await cli.exited, 2)
  assert.deepEqual(cli.stderr.filter(Boolean), [
    `mqtt-webhook: ${config}:7:3: auth.http_auth: HTTP authentication is not supported by mqtt-webhook broker; remove it, or keep NanoMQ for this`,
  ])
})

test('the flat file of NanoMQ before 0.14: url = nmq-tcp://... and allow_anonymous=false are honoured', async (t) => {
  const port = await freePort()
  const config = write(
    'nanomq_old.conf',
    `url=nmq-tcp://127.0.0.1:${port}\ndaemon=false\nallow_anonymous=false\nauth.1.login=admin\nauth.1.password=public\nacl_enable=true\nweb.hook.enable=false\nweb.hook.url=http://127.0.0.1:80\n`,
  )
  const cli = runCli(['broker', '--config', config])
  t.after(() => cli.kill())
  await cli.waitForLog(new RegExp(`^mqtt-webhook broker listening on mqtt://127\\.0\\.0\\.1:${port}$`))
  const url = `mqtt://127.0.0.1:${port}`
  assert.equal(await connectRefused(t, url, { clientId: 'anonymous' }), 4)
  await connectClient(t, url, { clientId: 'admin', username: 'admin', password: 'public' })
  assert.deepEqual(
    cli.logs.map((line) => line.msg).filter((msg) => msg.startsWith('ignored: ')),
    [`ignored: acl_enable (${config}:6): not done by mqtt-webhook broker`],
  )
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
})
