import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { formatRecord, isRecord } from '../src/delivery/message-record.ts'
import { Outbox } from '../src/delivery/outbox.ts'
import type { ToDeliveryThread } from '../src/delivery/thread-protocol.ts'
import { serializeEvent } from '../src/format.ts'

type JobsMessage = Extract<ToDeliveryThread, { type: 'jobs' }>

/**
 * An outbox whose delivery thread is a list: it takes a batch only when the test says so, and has room
 * for `room` jobs in all.
 */
function outbox(room = Number.POSITIVE_INFINITY) {
  const posted: JobsMessage[] = []
  const handedOver = () => posted.reduce((sum, m) => sum + m.ids.length, 0)
  const box = new Outbox({
    withKeys: true,
    canPost: (count) => handedOver() + count <= room,
    post: (message) => posted.push({ ...message, seq: handedOver() }),
  })
  return { box, posted }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** The bodies a batch carries, as the delivery thread reads them. */
function bodiesOf({ ids, offsets, bytes }: JobsMessage): string[] {
  const block = Buffer.from(bytes)
  return ids.map((_, i) => block.toString('utf8', offsets[i], offsets[i + 1]))
}

test('a turn of the event loop becomes one batch, with bodies and keys in order', async () => {
  const { box, posted } = outbox()
  for (const id of range(0, 3)) box.add(id, `body ${id}`, `client ${id % 2}`, 0)
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
  const { box, posted } = outbox()
  const bodies: Array<string | Buffer> = [
    '{"payload":"é ✓ 🦀"}',
    Buffer.from('{"as":"bytes"}'),
    ...range(0, 130).map((n) => `${n}`.padEnd(1024, 'k')),
    'h'.repeat(200 * 1024),
    'after',
  ]
  for (const [id, body] of bodies.entries()) box.add(id, body, '', 0)
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
  const { box, posted } = outbox()
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
  box.add(0, '{"body":0}', 'sub', 0)
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
  const { box, posted } = outbox()
  for (const id of range(0, 5000)) box.add(id, 'b', '', 0)
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

test('dropOldest() takes the oldest job waiting here, with its size; a batch goes without the jobs dropped from it', async () => {
  const { box, posted } = outbox()
  for (const id of range(0, 3000)) box.add(id, `body ${id}`, '', 0)
  await nextTurn()
  const dropped: Array<[number, number]> = []
  for (let i = 0; i < 500; i++) box.dropOldest((id, size) => dropped.push([id, size]))
  assert.deepEqual(
    dropped,
    range(2048, 2548).map((id) => [id, `body ${id}`.length]),
  )
  assert.equal(box.length, 452)
  box.taken()
  assert.deepEqual(
    posted.map((m) => [m.seq, m.ids[0], m.ids.length]),
    [
      [0, 0, 1024],
      [1024, 1024, 1024],
      [2048, 2548, 452],
    ],
  )
  assert.deepEqual(
    bodiesOf(posted[2] as JobsMessage),
    range(2548, 3000).map((n) => `body ${n}`),
  )
  assert.equal(
    box.dropOldest(() => {}),
    false,
  )
})

test('batches wait here while the delivery thread has no room for them', async () => {
  const { box, posted } = outbox(1500)
  for (const id of range(0, 3000)) box.add(id, 'b', '', 0)
  await nextTurn()
  assert.deepEqual(
    posted.map((m) => m.ids.length),
    [1024],
  )
  box.taken()
  assert.equal(posted.length, 1)
  assert.equal(box.length, 3000 - 1024)
})

test('drained() resolves once everything has been handed over; takeAll() empties it, oldest first', async () => {
  const { box } = outbox()
  for (const id of range(0, 3000)) box.add(id, 'b', '', 0)
  let drained = false
  const waiting = box.drained().then(() => {
    drained = true
  })
  await nextTurn()
  assert.equal(drained, false)
  box.taken()
  await waiting
  assert.equal(box.length, 0)

  for (const id of range(3000, 5100)) box.add(id, 'b', '', 0)
  // Two batches are still untaken: everything waits here.
  const taken: number[] = []
  box.takeAll((id) => taken.push(id))
  assert.deepEqual(taken, range(3000, 5100))
  assert.equal(box.length, 0)
})
