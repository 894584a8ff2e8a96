/**
 * The `queue` and `replay` commands and `--queue sqlite:PATH`, run as a user runs them: a real broker
 * process, a receiver that answers 400 for a while, then the commands on the store file.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseSince } from '../src/cli/replay.ts'
import { runCli, startCliBroker } from './helpers/cli-process.ts'
import { connectClient } from './helpers/mqtt.ts'
import { startReceiver } from './helpers/receiver.ts'
import { tempDir } from './helpers/store-files.ts'

test('queue and replay: events answered 400 are dead letters; replay sends each once more with its original webhook-id', async (t) => {
  const dir = tempDir(t)
  const store = join(dir, 'queue.db')
  let broken = true
  const receiver = await startReceiver({ reply: () => (broken ? 400 : 200) })
  t.after(() => receiver.close())
  const config = join(dir, 'webhook.json')
  writeFileSync(config, JSON.stringify({ url: receiver.url, events: [{ event: 'on_message_publish' }] }))

  const { cli: broker, url } = await startCliBroker(t, [
    '--config',
    config,
    '--queue',
    `sqlite:${store}`,
    '--status-interval',
    '0.1',
  ])
  const client = await connectClient(t, url, { clientId: 'pub' })
  for (let n = 0; n < 10; n++) await client.publishAsync('a/b', `m${n}`, { qos: 1 })
  await broker.waitForLog(/^stats matched 10 {2}delivered 0 {2}failed 10 /)
  broker.child.kill('SIGINT')
  assert.equal(await broker.exited, 0)
  const failedIds = receiver.requests.map((request) => request.headers['webhook-id'] as string)
  assert.equal(new Set(failedIds).size, 10)

  const listing = runCli([
    'queue',
    '--config',
    config,
    '--queue',
    `sqlite:${store}`,
    '--json',
    '--limit',
    '3',
  ])
  assert.equal(await listing.exited, 0)
  const summary = JSON.parse(listing.stdout.join('\n')) as {
    waiting: { events: number }
    dead: { events: number; by_event: Record<string, number>; newest: Array<Record<string, unknown>> }
  }
  assert.equal(summary.waiting.events, 0)
  assert.equal(summary.dead.events, 10)
  assert.deepEqual(summary.dead.by_event, { on_message_publish: 10 })
  assert.equal(summary.dead.newest.length, 3)
  for (const letter of summary.dead.newest) {
    assert.ok(failedIds.includes(letter.id as string), `listed id ${letter.id} is one that was sent`)
    assert.equal(letter.status, 400)
    assert.equal(letter.attempts, 1)
    assert.equal(letter.message, 'HTTP 400')
  }
  const text = runCli(['queue', '--config', config, '--queue', `sqlite:${store}`])
  assert.equal(await text.exited, 0)
  assert.deepEqual(text.stdout.slice(0, 5), [
    `store    ${store}`,
    'waiting  0 events, 0 bytes',
    'dead     10 events',
    `  ${'on_message_publish'.padEnd(24)} 10`,
    'newest dead letters:',
  ])

  broken = false
  const before = receiver.requests.length
  const replay = runCli([
    'replay',
    '--config',
    config,
    '--queue',
    `sqlite:${store}`,
    '--since',
    '1h',
    '--event',
    'on_message_publish',
  ])
  assert.equal(await replay.exited, 0, replay.stderr.join('\n'))
  assert.equal(replay.stdout[0], `replaying 10 dead letters from ${store}`)
  assert.equal(
    replay.stdout.at(-1),
    'done     matched 0  delivered 10  failed 0  dropped 0  queued 0  dead 0',
  )
  const replayed = receiver.requests.slice(before)
  assert.deepEqual(replayed.map((request) => request.headers['webhook-id']).sort(), [...failedIds].sort())
  assert.deepEqual(
    replayed.map((request) => JSON.parse(request.body).payload).sort(),
    Array.from({ length: 10 }, (_, n) => `m${n}`).sort(),
  )

  const again = runCli(['replay', '--config', config, '--queue', `sqlite:${store}`])
  assert.equal(await again.exited, 0)
  assert.equal(again.stdout[0], `replaying 0 dead letters from ${store}`)
})

test('queue and replay: usage errors name what is wrong', async (t) => {
  const dir = tempDir(t)
  const config = join(dir, 'webhook.json')
  writeFileSync(
    config,
    JSON.stringify({ url: 'http://127.0.0.1:1/', events: [{ event: 'on_message_publish' }] }),
  )
  const cases: Array<[string[], string]> = [
    [
      ['replay', '--config', config],
      'mqtt-webhook: replay needs a SQLite queue store: queue { store = sqlite, path = ... } in the config, or --queue sqlite:PATH',
    ],
    [
      ['queue', '--config', config, '--queue', 'redis:x'],
      "mqtt-webhook: --queue must be sqlite:PATH or memory, got 'redis:x'",
    ],
    [
      ['queue', '--config', config, '--queue', `sqlite:${join(dir, 'none.db')}`],
      `mqtt-webhook: no queue store at ${join(dir, 'none.db')}`,
    ],
    [
      ['replay', '--config', config, '--queue', `sqlite:${join(dir, 'q.db')}`, '--since', 'yesterday'],
      "mqtt-webhook: --since must be an ISO date, milliseconds since the epoch, or an age like 30m, got 'yesterday'",
    ],
  ]
  for (const [args, message] of cases) {
    const cli = runCli(args)
    assert.equal(await cli.exited, 2, args.join(' '))
    assert.deepEqual(cli.stderr.filter(Boolean), [message])
  }
})

test('replay --since: ages, dates and epoch milliseconds', () => {
  const now = Date.parse('2026-01-31T12:00:00Z')
  assert.equal(parseSince('30m', now), now - 30 * 60_000)
  assert.equal(parseSince('2h', now), now - 2 * 3_600_000)
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000)
  assert.equal(parseSince('2026-01-30T00:00:00Z', now), Date.parse('2026-01-30T00:00:00Z'))
  assert.equal(parseSince('1769860800000', now), 1769860800000)
})
