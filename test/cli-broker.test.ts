import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import mqtt from 'mqtt'
import { runCli, runScript, startCliBroker } from './helpers/cli-process.ts'
import { startReceiver } from './helpers/receiver.ts'

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function configFile(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

/** Drops `ts`, which is the time of the event, after checking it is one. */
function withoutTs(body: unknown): unknown {
  const { ts, ...rest } = body as { ts?: unknown }
  if ('ts' in (body as object)) assert.equal(typeof ts, 'number')
  return rest
}

test('broker: an mqtt.js client publishes, the webhook posts, SIGINT drains the queue and exits 0', async (t) => {
  // Slow answers keep events queued when SIGINT arrives: the command must wait for them.
  const receiver = await startReceiver({ reply: () => ({ status: 200, delayMs: 150 }) })
  t.after(() => receiver.close())
  const config = configFile(
    'broker.conf',
    `# a nanomq.conf-style file
mqtt {
  max_packet_size = 1KB
}
webhook {
  url = "${receiver.url}"
  headers.content-type = "application/json"
  pool_size = 1
  events = [
    { event = "on_client_connack" }
    { event = "on_message_publish", topic = "sensors/#" }
    { event = "on_client_disconnected" }
  ]
}
`,
  )
  const { cli, port } = await startCliBroker(t, ['--config', config, '--status-interval', '0.2'])
  const [posting] = await cli.waitForLog(/^posting .*$/)
  assert.equal(
    posting,
    `posting on_client_connack, on_message_publish, on_client_disconnected to ${receiver.url}`,
  )

  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'cli-c1', username: 'u1' })
  for (let i = 0; i < 4; i++) await client.publishAsync('sensors/1', `m${i}`, { qos: 1 })
  await client.publishAsync('other/topic', 'not matched', { qos: 1 })
  await client.endAsync()
  await cli.waitForLog(/^stats matched 6 .*$/)

  cli.child.kill('SIGINT')
  assert.equal(await cli.exited, 0)
  assert.deepEqual(cli.stderr.filter(Boolean), [])
  assert.equal(cli.logs.at(-1)?.msg, 'stopped  matched 6  delivered 6  failed 0  dropped 0  queued 0')
  assert.deepEqual(receiver.acceptedBodies().map(withoutTs), [
    {
      proto_ver: 4,
      keepalive: 60,
      conn_ack: 'success',
      username: 'u1',
      clientid: 'cli-c1',
      action: 'client_connack',
    },
    ...[0, 1, 2, 3].map((i) => ({
      topic: 'sensors/1',
      retain: false,
      qos: 1,
      action: 'message_publish',
      from_username: 'u1',
      from_client_id: 'cli-c1',
      payload: `m${i}`,
    })),
    { reason: 'normal', username: 'u1', clientid: 'cli-c1', action: 'client_disconnected' },
  ])
})

test('broker --ws-port: MQTT over WebSocket reaches the same webhook', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const config = configFile(
    'ws.json',
    JSON.stringify({ url: receiver.url, events: [{ event: 'on_message_publish' }] }),
  )
  const cli = runCli(['broker', '--config', config, '--port', '0', '--ws-port', '0'])
  t.after(() => cli.kill())
  const [, wsUrl] = await cli.waitForLog(/^mqtt-webhook broker listening on mqtt:\/\/\S+ and (ws:\/\/\S+)$/)
  const client = await mqtt.connectAsync(wsUrl as string, { clientId: 'ws-1' })
  await client.publishAsync('over/ws', 'hi', { qos: 1 })
  await client.endAsync()
  const [request] = await receiver.waitForAccepted(1)
  assert.deepEqual(withoutTs(JSON.parse(request?.body ?? '')), {
    topic: 'over/ws',
    retain: false,
    qos: 1,
    action: 'message_publish',
    from_username: 'undefined',
    from_client_id: 'ws-1',
    payload: 'hi',
  })
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
})

test('broker: when npm, its parent, dies without passing a signal on (npx), it drains and exits', async (t) => {
  const config = configFile(
    'orphan.json',
    JSON.stringify({ url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }] }),
  )
  const script = join(dir, 'wrapper.sh')
  // The wrapper starts the command in the background and waits: killed with SIGKILL, it passes nothing on.
  writeFileSync(
    script,
    `node --import tsx src/cli/index.ts broker --config ${config} --port 0 &\necho "child $!"\nwait\n`,
  )
  // What npm sets in its children's environment (npm_command=exec under npx).
  const wrapper = runScript(script, [], { npm_command: 'exec' }, 'bash')
  t.after(() => wrapper.kill())
  const [, pid] = await wrapper.waitForLine(/^child (\d+)$/)
  t.after(() => {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  })
  await wrapper.waitForLog(/^mqtt-webhook broker listening on /)
  wrapper.child.kill('SIGKILL')
  // Its output still comes through the pipe the wrapper handed down.
  const { log } = await wrapper.waitForLog(/^stopped /, 10_000)
  assert.equal(log.msg, 'stopped  matched 0  delivered 0  failed 0  dropped 0  queued 0')
  assert.ok(wrapper.logs.some((line) => line.msg.startsWith('stopping on parent-exited: ')))
  for (let tries = 0; tries < 50 && alive(Number(pid)); tries++)
    await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(alive(Number(pid)), false)
})

test('broker: started to outlive its shell (nohup, setsid, `cmd &`), it runs on when that shell exits', async (t) => {
  const config = configFile(
    'daemon.json',
    JSON.stringify({ url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }] }),
  )
  const script = join(dir, 'launcher.sh')
  writeFileSync(
    script,
    `node --import tsx src/cli/index.ts broker --config ${config} --port 0 &\necho "child $!"\nwait\n`,
  )
  // Not started by npm: `npm test` sets npm_command for everything under it.
  const launcher = runScript(script, [], { npm_command: undefined }, 'bash')
  t.after(() => launcher.kill())
  const [, pid] = await launcher.waitForLine(/^child (\d+)$/)
  t.after(() => {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  })
  await launcher.waitForLog(/^mqtt-webhook broker listening on /)
  // Its shell goes away (the terminal closed, the script ended); three parent checks later it still runs.
  launcher.child.kill('SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 3000))
  assert.equal(alive(Number(pid)), true)
  assert.equal(launcher.logs.filter((line) => line.msg.startsWith('stopping')).length, 0)
  process.kill(Number(pid), 'SIGTERM')
  const { log } = await launcher.waitForLog(/^stopped /, 10_000)
  assert.equal(log.msg, 'stopped  matched 0  delivered 0  failed 0  dropped 0  queued 0')
  assert.ok(launcher.logs.some((line) => line.msg.startsWith('stopping on SIGTERM')))
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
