import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import mqtt from 'mqtt'
import { type LogLine, startCliBroker } from './helpers/cli-process.ts'
import { parseExposition, sampleValue } from './helpers/prometheus.ts'
import { startReceiver } from './helpers/receiver.ts'

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-metrics-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function configFile(name: string, config: object): string {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(config))
  return path
}

test('broker --metrics-port: /metrics scraped over HTTP parses strictly; failures are logged by reason, rate-limited', async (t) => {
  const receiver = await startReceiver({ reply: () => 503 })
  t.after(() => receiver.close())
  const config = configFile('failing.json', {
    url: receiver.url,
    events: [{ event: 'on_message_publish' }],
    // An endpoint not heard from gets one request at a time, and five 503s open its circuit: its probes
    // come every 50 ms here, so that the twenty events fail within a second.
    retry: { max_attempts: 1, base_delay: 1, max_delay: 50 },
  })
  const { cli, port } = await startCliBroker(t, [
    '--config',
    config,
    '--metrics-port',
    '0',
    '--status-interval',
    '300ms',
  ])
  const { log } = await cli.waitForLog(/^metrics on /)
  const metricsUrl = log.url as string

  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'm1' })
  for (let i = 0; i < 20; i++) await client.publishAsync('t/1', `m${i}`, { qos: 1 })
  await client.endAsync()
  const { log: summary } = await cli.waitForLog(/^\d+ events failed \(status 503\) in the last 0\.3 s: /)

  let response = await fetch(`${metricsUrl}/metrics`)
  let text = await response.text()
  for (
    let tries = 0;
    tries < 100 && !/^mqtt_webhook_events_failed_total\{reason="http_5xx"\} 20$/m.test(text);
    tries++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    response = await fetch(`${metricsUrl}/metrics`)
    text = await response.text()
  }
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const families = parseExposition(text)
  assert.equal(
    sampleValue(families, 'mqtt_webhook_events_matched_total', { event: 'on_message_publish' }),
    20,
  )
  const publishes = { event: 'on_message_publish' }
  assert.equal(
    sampleValue(families, 'mqtt_webhook_events_failed_total', { ...publishes, reason: 'http_5xx' }),
    20,
  )
  assert.equal(
    sampleValue(families, 'mqtt_webhook_events_failed_total', { ...publishes, reason: 'network' }),
    0,
  )
  // One attempt each (max_attempts 1), all timed.
  assert.equal(families.get('mqtt_webhook_request_duration_seconds')?.type, 'histogram')
  assert.equal(sampleValue(families, 'mqtt_webhook_request_duration_seconds_count'), 20)
  assert.equal(sampleValue(families, 'mqtt_webhook_request_duration_seconds_bucket', { le: '+Inf' }), 20)
  assert.equal(sampleValue(families, 'mqtt_webhook_events_delivered_total', publishes), 0)
  assert.ok(families.has('process_cpu_seconds_total'), "prom-client's process metrics are served too")

  // The last probe's 503 opened the circuit for 50 ms: past it, nothing waits and the endpoint is not paused.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const health = await fetch(`${metricsUrl}/healthz`)
  assert.deepEqual(
    { status: health.status, body: await health.json() },
    { status: 200, body: { status: 'ok' } },
  )
  assert.equal((await fetch(`${metricsUrl}/other`)).status, 404)

  // One warn line for the first failure, then summaries: never one line per event.
  const warnings = cli.logs.filter((line) => line.level === 'warn')
  assert.ok(warnings.length < 20 / 2, `${warnings.length} warnings for 20 failures`)
  assert.deepEqual(
    { reason: warnings[0]?.reason, status: warnings[0]?.status, msg: warnings[0]?.msg },
    {
      reason: 'status 503',
      status: 503,
      msg: `POST ${receiver.url} failed after 1 attempt: HTTP 503`,
    },
  )
  assert.equal(summary.reason, 'status 503')
  assert.ok(typeof summary.count === 'number' && summary.count >= 2 && summary.count <= 20)

  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
  assert.equal(
    cli.logs.at(-1)?.msg,
    'stopped  matched 20  delivered 0  failed 20 (http_5xx 20)  dropped 0  queued 0',
  )
})

test('/healthz is 503 past 90% of max_queue; SIGHUP drains, and the exit code says events were dropped', async (t) => {
  const receiver = await startReceiver({ reply: () => ({ status: 200, hang: true }) })
  t.after(() => receiver.close())
  const config = configFile('stuck.json', {
    url: receiver.url,
    events: [{ event: 'on_message_publish' }],
    pool_size: 1,
    max_queue: 10,
  })
  const { cli, port } = await startCliBroker(t, [
    '--config',
    config,
    '--metrics-port',
    '0',
    '--drain-timeout',
    '0',
  ])
  const { log } = await cli.waitForLog(/^metrics on /)
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'h1' })
  for (let i = 0; i < 25; i++) await client.publishAsync('t/1', `m${i}`, { qos: 1 })
  await client.endAsync()
  let health: Response | undefined
  for (let tries = 0; tries < 50; tries++) {
    health = await fetch(`${log.url}/healthz`)
    if (health.status === 503) break
    await health.text()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(health?.status, 503)
  const body = (await health?.json()) as { status: string; problems: string[] }
  assert.equal(body.status, 'unhealthy')
  assert.match(body.problems.join(), /^queue over 90% full \((9|10) of 10\)$/)
  cli.child.kill('SIGHUP')
  assert.equal(await cli.exited, 3)
  const stopping = cli.logs.find((line) => /^stopping on SIGHUP/.test(line.msg))
  assert.equal(stopping?.msg, 'stopping on SIGHUP: draining the webhook queue (at most 0ms)')
  // Nothing was delivered: every event was pushed out of the full queue, or still there at the deadline.
  const stopped = cli.logs.at(-1) as LogLine
  const { queue_full, closed } = (stopped.stats as { dropped_by_reason: Record<string, number> })
    .dropped_by_reason
  assert.equal((queue_full as number) + (closed as number), 25)
  assert.equal(
    stopped.msg,
    `stopped  matched 25  delivered 0  failed 0  dropped 25 (queue_full ${queue_full}, closed ${closed})  queued 0`,
  )
})

test('no secret reaches the log: url credentials, header values and the signing secret', async (t) => {
  const receiver = await startReceiver({ reply: () => 500 })
  t.after(() => receiver.close())
  const secret = `whsec_${Buffer.from('a signing key of 32 bytes, here!').toString('base64')}`
  const config = configFile('secrets.json', {
    url: receiver.url.replace('http://', 'http://alice:hunter2-password@'),
    headers: { authorization: 'Bearer token-value-123' },
    secret,
    events: [{ event: 'on_message_publish' }],
    retry: { max_attempts: 1 },
  })
  const { cli, port } = await startCliBroker(t, ['--config', config, '--log-level', 'trace'])
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 's1' })
  await client.publishAsync('t/1', 'x', { qos: 1 })
  await client.endAsync()
  await cli.waitForLog(/failed after 1 attempt: HTTP 500$/)
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
  const output = [...cli.stdout, ...cli.stderr].join('\n')
  for (const leaked of ['hunter2-password', 'token-value-123', secret, secret.slice('whsec_'.length)])
    assert.ok(!output.includes(leaked), `${leaked} appears in the output`)
  assert.ok(cli.logs.some((line) => /http:\/\/(alice:)?\*\*\*@127\.0\.0\.1/.test(line.msg)))
})
