import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { createWebhook } from '../src/index.ts'
import { runCli } from './helpers/cli-process.ts'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const PUBLISH_BODY =
  '{"ts":1700000000000,"topic":"a/b","retain":false,"qos":1,"action":"message_publish","from_username":"u1","from_client_id":"c1","payload":"hello"}'

/** POSTs `body` with `headers` and returns the status. */
async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  })
  await response.text()
  return response.status
}

/** `mqtt-webhook receive --port 0 --secret SECRET ...args`, killed when the test ends, once it listens. */
async function startReceive(t: TestContext, args: string[] = []) {
  const cli = runCli(['receive', '--port', '0', '--secret', SECRET, ...args])
  t.after(() => cli.kill())
  const [, url] = await cli.waitForLine(
    /^mqtt-webhook receive listening on (http:\/\/\S+), checking signatures$/,
  )
  return { cli, url: url as string }
}

function sign(id: string, body: string): Record<string, string> {
  const timestamp = new Date()
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new StandardWebhook(SECRET).sign(id, timestamp, body),
  }
}

test('receive prints a signed webhook, and flags and refuses a tampered one', async (t) => {
  const { cli, url } = await startReceive(t, ['--raw'])

  const headers = sign('msg_1', PUBLISH_BODY)
  assert.equal(await post(url, PUBLISH_BODY, headers), 200)
  const [signed] = await cli.waitForLine(/^message_publish .*$/)
  assert.equal(
    signed,
    'message_publish  client=c1  user=u1  topic=a/b  qos=1  retain=false  payload="hello"  [signature ok]',
  )
  await cli.waitForLine(/^ {2}\{"ts":1700000000000/)
  assert.ok(cli.stdout.includes(`  ${PUBLISH_BODY}`))

  const tampered = PUBLISH_BODY.replace('"hello"', '"HELLO"')
  assert.equal(await post(url, tampered, headers), 401)
  const [flagged] = await cli.waitForLine(/^.*SIGNATURE INVALID.*$/)
  assert.equal(
    flagged,
    'message_publish  client=c1  user=u1  topic=a/b  qos=1  retain=false  payload="HELLO"  [SIGNATURE INVALID: no signature matches]',
  )

  assert.equal(await post(url, PUBLISH_BODY), 401)
  const [unsigned] = await cli.waitForLine(/^.*SIGNATURE MISSING.*$/)
  assert.match(unsigned, /payload="hello" {2}\[SIGNATURE MISSING\]$/)

  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
})

test('receive decodes base64 payloads, shows binary ones as hex, and checks what createWebhook signs', async (t) => {
  const { cli, url } = await startReceive(t, ['--encoding', 'base64'])
  const webhook = createWebhook({
    url: url,
    secret: SECRET,
    body: { encoding: 'base64' },
    events: [{ event: 'on_message_publish' }],
  })
  t.after(() => webhook.close())
  const delivered: number[] = []
  webhook.on('delivered', (report) => delivered.push(report.status))
  const message = {
    event: 'on_message_publish',
    topic: 't/1',
    qos: 0,
    retain: true,
    from_client_id: 'c9',
  } as const
  webhook.handle({ ...message, payload: Buffer.from('21.5 °C') })
  webhook.handle({ ...message, payload: Buffer.from([0x00, 0xff, 0xfe]) })
  await webhook.flush()
  assert.deepEqual(delivered, [200, 200])
  // The line is printed before the answer, but the pipe from the process may bring it later.
  await cli.waitForLine(/payload=<3 bytes/)
  const lines = cli.stdout.filter((line) => line.startsWith('message_publish'))
  assert.deepEqual(lines, [
    'message_publish  client=c9  user=undefined  topic=t/1  qos=0  retain=true  payload="21.5 °C"  [signature ok]',
    'message_publish  client=c9  user=undefined  topic=t/1  qos=0  retain=true  payload=<3 bytes: 00fffe>  [signature ok]',
  ])
})

test('receive prints each event of a batch on its own line, and checks the batch signature', async (t) => {
  const { cli, url } = await startReceive(t)
  const webhook = createWebhook({
    url: url,
    secret: SECRET,
    batch: { max_events: 3, max_delay_ms: 5_000 },
    events: [{ event: 'on_message_publish' }],
  })
  t.after(() => webhook.close())
  for (const n of [1, 2, 3])
    webhook.handle({
      event: 'on_message_publish',
      topic: `t/${n}`,
      qos: 0,
      retain: false,
      from_client_id: 'c9',
      payload: Buffer.from(`m${n}`),
    })
  await webhook.flush()
  assert.equal(webhook.stats().success, 3)
  await cli.waitForLine(/payload="m3"/)
  assert.deepEqual(
    cli.stdout.filter((line) => line.startsWith('message_publish')),
    [1, 2, 3].map(
      (n) =>
        `message_publish  client=c9  user=undefined  topic=t/${n}  qos=0  retain=false  payload="m${n}"  [signature ok]`,
    ),
  )
})
