import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { describe, test } from 'node:test'
import mqtt from 'mqtt-packet'
import { RateLimitedWarner } from '../src/rate-limited-warner.ts'
import { recordingLogger } from './helpers/logger.ts'
import { freePort } from './helpers/mosquitto.ts'
import { startLoopbackProxy } from './helpers/proxy.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const refused = {
  obj: { code: 'ECONNREFUSED' },
  msg: (count: number, seconds: number) =>
    `upstream unreachable: ${count} connections refused in the last ${seconds} s`,
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('RateLimitedWarner', () => {
  test('the first occurrence at once, the repeats as one summary when the interval ends', async () => {
    const logger = recordingLogger()
    const warner = new RateLimitedWarner({ logger, intervalMs: 200 })
    for (let i = 0; i < 500; i++) warner.warn('refused', { client: `c${i}` }, 'connection error', refused)
    assert.deepEqual(logger.lines, [{ level: 'warn', obj: { client: 'c0' }, msg: 'connection error' }])
    while (logger.lines.length < 2) await sleep(20)
    assert.deepEqual(logger.lines[1], {
      level: 'warn',
      obj: { code: 'ECONNREFUSED', count: 500, interval_s: 0.2 },
      msg: 'upstream unreachable: 500 connections refused in the last 0.2 s',
    })
    warner.close()
    assert.equal(logger.lines.length, 2)
  })

  test('a key still repeating gets a summary per interval; one that went quiet starts over', async () => {
    const logger = recordingLogger()
    const warner = new RateLimitedWarner({ logger, intervalMs: 100 })
    warner.warn('k', { n: 1 }, 'first', refused)
    warner.warn('k', { n: 2 }, 'first', refused)
    while (logger.lines.length < 2) await sleep(10)
    warner.warn('k', { n: 3 }, 'first', refused) // within the second interval: counted
    while (logger.lines.length < 3) await sleep(10)
    assert.deepEqual(
      logger.lines.map((line) => line.msg),
      [
        'first',
        'upstream unreachable: 2 connections refused in the last 0.1 s',
        'upstream unreachable: 1 connections refused in the last 0.1 s',
      ],
    )
    // A whole interval without it: the key is forgotten, and the next one is logged as a first again.
    await sleep(250)
    warner.warn('k', { n: 4 }, 'first', refused)
    assert.deepEqual(logger.lines.at(-1), { level: 'warn', obj: { n: 4 }, msg: 'first' })
    warner.close()
    assert.equal(logger.lines.length, 4)
  })

  test('keys are counted apart; close() logs what is counted and stops the timers', () => {
    const logger = recordingLogger()
    const warner = new RateLimitedWarner({ logger })
    warner.warn('a', {}, 'a happened', { msg: (count) => `a: ${count}` })
    warner.warn('b', {}, 'b happened', { msg: (count) => `b: ${count}` })
    warner.warn('a', {}, 'a happened', { msg: (count) => `a: ${count}` })
    warner.warn('a', {}, 'a happened', { msg: (count) => `a: ${count}` })
    warner.close()
    assert.deepEqual(
      logger.lines.map((line) => line.msg),
      ['a happened', 'b happened', 'a: 3'],
    )
    warner.close()
    assert.equal(logger.lines.length, 3)
  })

  test('a logger that throws does not throw into the caller', () => {
    const warner = new RateLimitedWarner({
      logger: {
        warn() {
          throw new Error('broken logger')
        },
      },
    })
    warner.warn('x', {}, 'x', refused)
    warner.warn('x', {}, 'x', refused)
    warner.close()
  })

  test('an interval a timer cannot hold is refused', () => {
    const logger = recordingLogger()
    for (const intervalMs of [0, -1, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY])
      assert.throws(() => new RateLimitedWarner({ logger, intervalMs }), RangeError)
  })
})

test('2,000 clients while the upstream is down: one warning, then a summary, not 2,000 lines', async (t) => {
  const logger = recordingLogger()
  const proxy = await startLoopbackProxy(t, await freePort(), recordingWebhook(), logger)
  const CLIENTS = 2000
  const connectPacket = mqtt.generate({ cmd: 'connect', clientId: 'x', protocolVersion: 4, keepalive: 10 })
  for (let batch = 0; batch < CLIENTS; batch += 200) {
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        const client = connect(proxy.address.port, '127.0.0.1')
        client.on('error', () => {})
        client.on('connect', () => client.write(connectPacket))
        await once(client, 'close')
      }),
    )
  }
  await proxy.close() // logs what is counted and not yet summarized

  const warnings = logger.lines.filter((line) => line.level === 'warn' || line.level === 'error')
  const [first, ...summaries] = warnings
  assert.equal(first?.msg, 'connection error')
  assert.equal(first?.obj.code, 'ECONNREFUSED')
  assert.equal(first?.obj.side, 'upstream')
  // One summary per 10 s interval the refusals lasted (one, unless this machine is very slow).
  assert.ok(summaries.length >= 1 && summaries.length <= 5, `${warnings.length} lines`)
  for (const summary of summaries) {
    assert.match(summary.msg ?? '', /^upstream unreachable: \d+ connections refused in the last [\d.]+ s$/)
    assert.equal(summary.obj.side, 'upstream')
    assert.equal(summary.obj.code, 'ECONNREFUSED')
  }
  const counted = summaries.reduce((sum, line) => sum + (line.obj.count as number), 0)
  // The first interval's count includes the line logged at its start.
  assert.equal(counted, CLIENTS)
})
