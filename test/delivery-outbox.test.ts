import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { formatRecord, isRecord } from '../src/delivery/message-record.ts'
import { Outbox } from '../src/delivery/outbox.ts'
import type { ToDeliveryThread } from '../src/delivery/thread-protocol.ts'
import { serializeEvent } from '../src/format.ts'

type JobsMessage = Extract<ToDeliveryThread, { type: 'jobs' }>

/** An outbox whose delivery thread is a list: it takes a batch only when the test says so. */
function outbox(maxQueue: number, waitingThere = () => 0) {
  const posted: JobsMessage[] = []
  const dropped: number[] = []
  const box = new Outbox({
    maxQueue,
    waitingThere,
    withKeys: true,
    post: (message) => posted.push(message),
    dropped: (id) => dropped.push(id),
  })
  return { box, posted, dropped }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** The bodies a batch carries, as the delivery thread reads them. */
function bodiesOf({ ids, offsets, bytes }: JobsMessage): string[] {
  const block = Buffer.from(bytes)
  return ids.map((_, i) => block.toString('utf8', offsets[i], offsets[i + 1]))
}

test('a turn of the event loop becomes one batch, with bodies and keys in order', async () => {
  const { box, posted } = outbox(100)
  for (const id of range(0, 3)) box.add(id, `body ${id}`, `client ${id % 2}`)
  assert.equal(posted.length, 0)
  await nextTurn()
  assert.equal(posted.length, 1)
  const [batch] = posted as [JobsMessage]
  assert.deepEqual(batch.ids, [0, 1, 2])
  assert.deepEqual(bodiesOf(batch), ['body 0', 'body 1', 'body 2'])
  assert.deepEqual(batch.keys, ['client 0', 'client 1', 'client 0'])
  assert.equal(box.length, 0)
})

test('bodies travel as UTF-8 in one block per batch; a block holds 128 KiB, a bigger body gets its own', async () => {
  const { box, posted } = outbox(1000)
  const bodies: Array<string | Buffer> = [
    '{"payload":"é ✓ 🦀"}',
    Buffer.from('{"as":"bytes"}'),
    ...range(0, 130).map((n) => `${n}`.padEnd(1024, 'k')),
    'h'.repeat(200 * 1024),
    'after',
  ]
  for (const [id, body] of bodies.entries()) box.add(id, body, '')
  await nextTurn()
  // Two batches went out at the end of the turn; each one taken lets one more go.
  box.taken()
  box.taken()
  assert.deepEqual(
    posted.flatMap(bodiesOf),
    bodies.map((body) => body.toString()),
  )
  // 130 KiB of bodies need two blocks; the 200 KiB body gets a block of its exact size, `after` a new one.
  assert.deepEqual(
    posted.map((m) => [m.ids[0], m.bytes.byteLength]),
    [
      [0, 128 * 1024],
      [posted[1]?.ids[0], 128 * 1024],
      [132, 200 * 1024],
      [133, 128 * 1024],
    ],
  )
})

test('a message event goes in the same block as its record, and formats there to the body it would have had', async () => {
  const { box, posted } = outbox(100)
  const event = {
    event: 'on_message_delivered',
    clientid: 'sub',
    topic: 'a/b',
    qos: 1,
    retain: false,
    from_client_id: 'pub',
    payload: Buffer.from('é ✓'),
    ts: 1_706_703_724_960,
  } as const
  box.add(0, '{"body":0}', 'sub')
  box.addMessage(1, event, 'sub')
  await nextTurn()
  const [batch] = posted as [JobsMessage]
  const block = Buffer.from(batch.bytes)
  const [body, record] = [0, 1].map((i) => block.subarray(batch.offsets[i], batch.offsets[i + 1])) as [
    Buffer,
    Buffer,
  ]
  assert.equal(body.toString(), '{"body":0}')
  assert.deepEqual([isRecord(body), isRecord(record)], [false, true])
  assert.equal(formatRecord(record, 'base64'), serializeEvent(event, 'base64'))
  assert.deepEqual(batch.keys, ['sub', 'sub'])
})

test('batches hold at most 1,024 jobs, and at most two wait to be taken', async () => {
  const { box, posted } = outbox(100_000)
  for (const id of range(0, 5000)) box.add(id, 'b', '')
  await nextTurn()
  assert.deepEqual(
    posted.map((m) => m.ids.length),
    [1024, 1024],
  )
  assert.equal(box.length, 5000 - 2048)
  box.taken()
  box.taken()
  box.taken()
  assert.deepEqual(
    posted.map((m) => m.ids[0]),
    [0, 1024, 2048, 3072, 4096],
  )
  assert.deepEqual(
    posted.flatMap((m) => m.ids),
    range(0, 5000),
  )
})

test('while the delivery thread is behind, max_queue bounds both sides and the oldest here are dropped', async () => {
  // The delivery thread holds 500 jobs, takes nothing more, and what was posted to it counts there too.
  let untaken = 0
  const { box, posted, dropped } = outbox(4000, () => 500 + untaken)
  for (const id of range(0, 6000)) {
    box.add(id, 'b', '')
    untaken = posted.reduce((sum, m) => sum + m.ids.length, 0)
  }
  await nextTurn()
  // Two batches went out before it stopped taking; here stays only the room left: 4,000 - 500 - 2,048.
  assert.deepEqual(
    posted.flatMap((m) => m.ids),
    range(0, 2048),
  )
  assert.equal(box.length, 1452)
  assert.deepEqual(dropped, range(2048, 6000 - 1452))
  box.taken()
  box.taken()
  assert.deepEqual(
    posted.flatMap((m) => m.ids),
    [...range(0, 2048), ...range(6000 - 1452, 6000)],
  )
})

test('drained() resolves once everything has been handed over; takeAll() empties it, oldest first', async () => {
  const { box } = outbox(100_000)
  for (const id of range(0, 3000)) box.add(id, 'b', '')
  let drained = false
  const waiting = box.drained().then(() => {
    drained = true
  })
  await nextTurn()
  assert.equal(drained, false)
  box.taken()
  await waiting
  assert.equal(box.length, 0)

  for (const id of range(3000, 5100)) box.add(id, 'b', '')
  // Two batches are still untaken: everything waits here.
  assert.deepEqual(box.takeAll(), range(3000, 5100))
  assert.equal(box.length, 0)
})
