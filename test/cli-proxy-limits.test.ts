import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import mqtt from 'mqtt'
import { startAedes } from './helpers/aedes.ts'
import { runCli, startCliProxy } from './helpers/cli-process.ts'
import { startReceiver } from './helpers/receiver.ts'

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-cli-proxy-limits-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('proxy --max-packet-size: a larger publish passes unobserved, reported once in the log', async (t) => {
  const upstream = await startAedes()
  t.after(() => upstream.close())
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const config = join(dir, 'publish.conf')
  writeFileSync(
    config,
    `web.hook.url=${receiver.url}\nweb.hook.rule.message.publish.1={"action": "on_message_publish"}\n`,
  )
  const { cli, url } = await startCliProxy(t, upstream.port, config, ['--max-packet-size', '200'])

  const watcher = await mqtt.connectAsync(upstream.url, { clientId: 'watcher' })
  t.after(() => watcher.endAsync(true))
  const received: Buffer[] = []
  watcher.on('message', (_topic, payload) => received.push(payload))
  await watcher.subscribeAsync('limits/#', { qos: 1 })
  const client = await mqtt.connectAsync(url as string, { clientId: 'limited' })
  const big = Buffer.alloc(1000, 0x62)
  await client.publishAsync('limits/small', 'fits', { qos: 1 })
  await client.publishAsync('limits/big', big, { qos: 1 })
  await client.publishAsync('limits/small', 'unobserved', { qos: 1 })
  await client.endAsync()

  const [request] = await receiver.waitForAccepted(1)
  assert.equal((JSON.parse(request?.body ?? '{}') as { payload?: string }).payload, 'fits')
  while (received.length < 3) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(
    received.map((payload) => payload.length),
    [4, 1000, 10],
  )
  assert.ok(received[1]?.equals(big))
  cli.child.kill('SIGINT')
  assert.equal(await cli.exited, 0)
  assert.equal(receiver.requests.length, 1)
  const reports = cli.logs
    .filter((line) => line.level === 'warn')
    .map((line) => JSON.stringify(line))
    .filter((line) => line.includes('over maxPacketSize'))
  assert.equal(reports.length, 1, cli.stdout.join('\n'))
  assert.match(
    reports[0] ?? '',
    /client \\?"limited\\?" \(127\.0\.0\.1\): inbound PUBLISH of 1\d{3} bytes is over maxPacketSize \(200\)/,
  )
})

test('proxy --max-packet-size refuses what is not a whole number of bytes', async () => {
  for (const value of ['0', '1.5', '1MB', '268435461']) {
    const cli = runCli([
      'proxy',
      '--listen',
      ':0',
      '--upstream',
      ':1',
      '--config',
      'x',
      '--max-packet-size',
      value,
    ])
    assert.equal(await cli.exited, 2)
    assert.deepEqual(cli.stderr, [
      `mqtt-webhook: --max-packet-size must be a whole number of bytes from 1 to 268435460, got '${value}'`,
    ])
  }
})
