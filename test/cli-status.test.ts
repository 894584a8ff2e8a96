import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createCliLogger } from '../src/cli/log.ts'
import { formatStats, startStatus } from '../src/cli/status.ts'
import { createWebhook } from '../src/index.ts'

/** A logger writing JSON lines into an array, as the command writes them when not on a terminal. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      stream.emit('line')
      callback()
    },
  })
  const logger = createCliLogger({ stream: stream as unknown as NodeJS.WriteStream, level: 'info' })
  return { logger, lines, stream }
}

/** The reporter's timer does not keep a process alive (by design); this keeps the test's alive meanwhile. */
function keepAlive(t: { after(fn: () => void): void }): void {
  const timer = setTimeout(() => {}, 60_000)
  t.after(() => clearTimeout(timer))
}

const connack = (clientid: string) =>
  ({ event: 'on_client_connack', clientid, proto_ver: 4, keepalive: 60, conn_ack: 'success' }) as const

test('log lines are JSON with an ISO time and a named level', () => {
  const { logger, lines } = recordingLogger()
  logger.warn({ url: 'http://127.0.0.1/' }, 'hello')
  assert.equal(lines.length, 1)
  const [line] = lines as [Record<string, unknown>]
  assert.deepEqual(Object.keys(line), ['level', 'time', 'url', 'msg'])
  assert.equal(line.level, 'warn')
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})

test('a stats line is logged only when something changed, with the counts as fields', async (t) => {
  const webhook = createWebhook(
    { url: 'http://127.0.0.1:9/hook', events: [{ event: 'on_client_connack' }] },
    { send: async () => ({ status: 200 }) },
  )
  t.after(() => webhook.close())
  keepAlive(t)
  webhook.handle(connack('c1'))
  await webhook.flush()
  const { logger, lines, stream } = recordingLogger()
  const status = startStatus(webhook, logger, 50)
  await once(stream, 'line')
  // Several intervals with nothing new: no line.
  await new Promise((resolve) => setTimeout(resolve, 200))
  webhook.handle(connack('c2'))
  await webhook.flush()
  await once(stream, 'line')
  status.stop()
  assert.deepEqual(
    lines.map(({ msg, matched, delivered, queued }) => ({ msg, matched, delivered, queued })),
    [
      {
        msg: 'stats matched 1  delivered 1  failed 0  dropped 0  queued 0',
        matched: 1,
        delivered: 1,
        queued: 0,
      },
      {
        msg: 'stats matched 2  delivered 2  failed 0  dropped 0  queued 0',
        matched: 2,
        delivered: 2,
        queued: 0,
      },
    ],
  )
})

test('formatStats names the drop reasons when events were dropped', () => {
  const line = formatStats({
    matched: 5,
    queued: 0,
    queued_bytes: 0,
    inflight: 0,
    success: 2,
    failed: 0,
    retried: 0,
    dropped: 3,
    dropped_by_reason: { queue_full: 2, queue_bytes_full: 0, closed: 1 },
    events: {},
  })
  assert.equal(line, 'matched 5  delivered 2  failed 0  dropped 3 (queue_full 2, closed 1)  queued 0')
})

test('formatStats names the failure reasons when events failed', () => {
  const line = formatStats({
    matched: 5,
    queued: 0,
    queued_bytes: 0,
    inflight: 0,
    success: 2,
    failed: 3,
    failed_by_reason: { http_4xx: 0, http_5xx: 2, http_other: 0, timeout: 0, network: 1, tls: 0, other: 0 },
    retried: 0,
    dropped: 0,
    dropped_by_reason: { queue_full: 0, queue_bytes_full: 0, closed: 0 },
    events: {},
  })
  assert.equal(line, 'matched 5  delivered 2  failed 3 (http_5xx 2, network 1)  dropped 0  queued 0')
})
