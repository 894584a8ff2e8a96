import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { startStatus } from '../src/cli/status.ts'
import { createWebhook } from '../src/index.ts'

/** A stream that records what is written, and claims to be a terminal or not. */
function recorder(isTTY: boolean) {
  const writes: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString())
      stream.emit('line')
      callback()
    },
  }) as Writable & { isTTY?: boolean }
  stream.isTTY = isTTY
  return { stream: stream as unknown as NodeJS.WriteStream, writes }
}

/** The reporter's timer does not keep a process alive (by design); this keeps the test's alive meanwhile. */
function keepAlive(t: { after(fn: () => void): void }): void {
  const timer = setTimeout(() => {}, 60_000)
  t.after(() => clearTimeout(timer))
}

async function deliveredWebhook() {
  const webhook = createWebhook(
    { url: 'http://127.0.0.1:9/hook', events: [{ event: 'on_client_connack' }] },
    { send: async () => ({ status: 200 }) },
  )
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c1',
    proto_ver: 4,
    keepalive: 60,
    conn_ack: 'success',
  })
  await webhook.flush()
  return webhook
}

test('on a terminal: one status line rewritten in place, ended by a new line at stop', async (t) => {
  const webhook = await deliveredWebhook()
  t.after(() => webhook.close())
  keepAlive(t)
  const { stream, writes } = recorder(true)
  const status = startStatus(webhook, { intervalSeconds: 0.05, stream })
  await once(stream, 'line')
  await once(stream, 'line')
  status.stop()
  assert.equal(writes[0], '\r\x1b[2Kmatched 1  delivered 1  failed 0  dropped 0  queued 0')
  assert.equal(writes[1], writes[0], 'rewritten even when nothing changed: it is a live display')
  assert.equal(writes.at(-1), '\n')
})

test('not on a terminal: a plain stats line, only when something changed', async (t) => {
  const webhook = await deliveredWebhook()
  t.after(() => webhook.close())
  keepAlive(t)
  const { stream, writes } = recorder(false)
  const status = startStatus(webhook, { intervalSeconds: 0.05, stream })
  await once(stream, 'line')
  webhook.handle({
    event: 'on_client_connack',
    clientid: 'c2',
    proto_ver: 5,
    keepalive: 30,
    conn_ack: 'fail',
  })
  await webhook.flush()
  await once(stream, 'line')
  status.stop()
  assert.deepEqual(writes, [
    'stats matched 1  delivered 1  failed 0  dropped 0  queued 0\n',
    'stats matched 2  delivered 2  failed 0  dropped 0  queued 0\n',
  ])
})
