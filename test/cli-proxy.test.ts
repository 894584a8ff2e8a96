import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import mqtt from 'mqtt'
import { startAedes } from './helpers/aedes.ts'
import { startCliProxy } from './helpers/cli-process.ts'
import { startReceiver } from './helpers/receiver.ts'

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-cli-proxy-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('proxy: a client of the proxy reaches the upstream broker, the webhook posts, SIGINT exits 0', async (t) => {
  const upstream = await startAedes()
  t.after(() => upstream.close())
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const config = join(dir, 'legacy.conf')
  writeFileSync(
    config,
    `web.hook.url=${receiver.url}\nweb.hook.rule.client.connack.1={"action": "on_client_connack"}\n`,
  )
  const { cli, url } = await startCliProxy(t, upstream.port, config)
  const client = await mqtt.connectAsync(url, { clientId: 'through-proxy', username: 'p1' })
  await client.endAsync()
  const [request] = await receiver.waitForAccepted(1)
  assert.deepEqual(JSON.parse(request?.body ?? ''), {
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
    username: 'p1',
    clientid: 'through-proxy',
    action: 'client_connack',
  })
  cli.child.kill('SIGINT')
  assert.equal(await cli.exited, 0)
  assert.equal(cli.logs.at(-1)?.msg, 'stopped  matched 1  delivered 1  failed 0  dropped 0  queued 0')
})
