import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import mqtt from 'mqtt'
import { createWebhook, HOOK_EVENT_NAMES } from '../src/index.ts'
import { ROOT, runScript } from './helpers/cli-process.ts'
import { freePort } from './helpers/mosquitto.ts'
import { startReceiver } from './helpers/receiver.ts'

// Every example is run as a user would run it, so that none can rot.

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-examples-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

/** Drops `ts`, the time of the event. */
function withoutTs(body: unknown): unknown {
  const { ts: _ts, ...rest } = body as Record<string, unknown>
  return rest
}

test('npm start (examples/start.ts): all twelve events reach the receiver, then it stops by itself', async (t) => {
  const start = runScript('examples/start.ts', [], { MQTT_PORT: '0' })
  t.after(() => start.kill())
  assert.equal(await start.exited, 0, start.stderr.join('\n'))
  const actions = new Set(start.stdout.flatMap((line) => /^receiver got: (\w+) /.exec(line)?.[1] ?? []))
  assert.deepEqual([...actions].sort(), HOOK_EVENT_NAMES.map((name) => name.slice('on_'.length)).sort())
  assert.match(
    start.stdout.join('\n'),
    /\nwebhook: matched (\d+) {2}delivered \1 {2}failed 0 {2}dropped 0 {2}queued 0\n/,
  )
})

test('examples/payloads.test.ts passes', async (t) => {
  // Without NODE_TEST_CONTEXT the child reports as a user's `node --test` would, not to this runner.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'examples/payloads.test.ts'],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  t.after(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) =>
    child.on('close', (exitCode) => resolve(exitCode)),
  )
  assert.equal(code, 0, output)
  assert.match(output, /^# pass 3$/m)
  assert.match(output, /^# fail 0$/m)
})

test('examples/verify-signatures.ts accepts what createWebhook signs and rejects another secret', async (t) => {
  const example = runScript('examples/verify-signatures.ts', [], { WEBHOOK_SECRET: SECRET, PORT: '0' })
  t.after(() => example.kill())
  const [, url] = await example.waitForLine(/^verifying webhooks on (http:\/\/\S+)$/)
  const statuses: number[] = []
  for (const secret of [SECRET, 'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=']) {
    const webhook = createWebhook({ url: url as string, secret, events: [{ event: 'on_client_connack' }] })
    webhook.on('delivered', (report) => statuses.push(report.status))
    webhook.on('failed', (report) => statuses.push(report.status ?? 0))
    webhook.handle({
      event: 'on_client_connack',
      clientid: 'c1',
      proto_ver: 4,
      keepalive: 60,
      conn_ack: 'success',
    })
    await webhook.flush()
    await webhook.close()
  }
  assert.deepEqual(statuses, [204, 401])
  await example.waitForLine(/^rejected: /)
  assert.match(example.stdout[1] as string, /^verified client_connack from c1 \(\S+\)$/)
  assert.match(example.stdout[2] as string, /^rejected: /)
  example.child.kill('SIGTERM')
  assert.equal(await example.exited, 0)
})

const mosquittoMissing =
  existsSync('/usr/sbin/mosquitto') || existsSync('/usr/bin/mosquitto') ? false : 'mosquitto is not installed'

test('examples/proxy-mosquitto.sh: a client of the proxy reaches mosquitto and fires the webhook', {
  skip: mosquittoMissing,
}, async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const config = join(dir, 'proxy.json')
  writeFileSync(config, JSON.stringify({ url: receiver.url, events: [{ event: 'on_message_publish' }] }))
  const env = { MOSQUITTO_PORT: String(await freePort()), PROXY_PORT: '0', CONFIG: config }
  const script = runScript('examples/proxy-mosquitto.sh', [], env, 'bash')
  t.after(() => script.kill())
  const [, proxyUrl] = await script.waitForLog(/^mqtt-webhook proxy listening on (mqtt:\/\/\S+), relaying/)
  // mosquitto may start a moment after the proxy: retry the first connection.
  const client = await mqtt.connectAsync(proxyUrl as string, { clientId: 'via-proxy', reconnectPeriod: 100 })
  await client.publishAsync('through/proxy', 'hi', { qos: 1 })
  await client.endAsync()
  const [request] = await receiver.waitForAccepted(1)
  assert.deepEqual(withoutTs(JSON.parse(request?.body ?? '')), {
    topic: 'through/proxy',
    retain: false,
    qos: 1,
    action: 'message_publish',
    from_username: 'undefined',
    from_client_id: 'via-proxy',
    payload: 'hi',
  })
  script.child.kill('SIGTERM')
  assert.equal(await script.exited, 0)
  await script.waitForLog(/^stopped {2}matched 1 {2}delivered 1 /)
})

test('examples/custom-server.ts runs as a program and posts its events', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const example = runScript('examples/custom-server.ts', [], { WEBHOOK_URL: receiver.url, PORT: '0' })
  t.after(() => example.kill())
  const [, url] = await example.waitForLine(/^MQTT on (mqtt:\/\/\S+), webhooks to /)
  const client = await mqtt.connectAsync(url as string, { clientId: 'custom-1' })
  await client.publishAsync('custom/topic', 'payload', { qos: 0 })
  await client.endAsync()
  const publish = await waitForBody(receiver, 'message_publish')
  assert.deepEqual(withoutTs(publish), {
    topic: 'custom/topic',
    retain: false,
    qos: 0,
    action: 'message_publish',
    from_username: 'undefined',
    from_client_id: 'custom-1',
    payload: 'payload',
  })
})

/** The first accepted body with this `action`, waiting for more requests as needed. */
async function waitForBody(
  receiver: Awaited<ReturnType<typeof startReceiver>>,
  action: string,
): Promise<unknown> {
  for (let count = 1; ; count++) {
    await receiver.waitForAccepted(count)
    const body = receiver.acceptedBodies().find((b) => (b as { action?: string }).action === action)
    if (body) return body
  }
}

test('examples/aedes.ts runs as a program and posts its events', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const example = runScript('examples/aedes.ts', [], { WEBHOOK_URL: receiver.url, PORT: '0', MQTT_PORT: '0' })
  t.after(() => example.kill())
  const [url] = await example.waitForLine(/mqtt:\/\/127\.0\.0\.1:\d+/)
  const client = await mqtt.connectAsync(url, { clientId: 'aedes-example-1' })
  await client.publishAsync('aedes/example', 'payload', { qos: 1 })
  await client.endAsync()
  const publish = await waitForBody(receiver, 'message_publish')
  assert.deepEqual(withoutTs(publish), {
    topic: 'aedes/example',
    retain: false,
    qos: 1,
    action: 'message_publish',
    from_username: 'undefined',
    from_client_id: 'aedes-example-1',
    payload: 'payload',
  })
})
