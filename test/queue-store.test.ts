/**
 * The queue stores on their own: the SQLite backend on real files in temp dirs (and a real full disk, a
 * small tmpfs), the memory backend, and the `queue` config key.
 */
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import { openStore } from '../src/delivery/store/index.ts'
import { loadSqlite } from '../src/delivery/store/load.ts'
import { MemoryStore } from '../src/delivery/store/memory.ts'
import { SqliteStore } from '../src/delivery/store/sqlite.ts'
import type { StoredEvent } from '../src/delivery/store/types.ts'
import { loadConfig } from '../src/load-config/index.ts'
import { assertRejected } from './helpers/config.ts'
import { smallFileSystem, tempDir } from './helpers/store-files.ts'

const BASE = { url: 'http://127.0.0.1:1/', events: [{ event: 'on_client_connack' }] }

function openAt(
  path: string,
  errors: Error[] = [],
  maxDeadLetters = 10_000,
  commit: 'batch' | 'event' = 'batch',
) {
  return new SqliteStore({
    path,
    commit,
    synchronous: 'normal',
    maxDeadLetters,
    report: (e) => errors.push(e),
  })
}

function event(id: number, key = 'c1', name: StoredEvent['event'] = 'on_client_connack'): StoredEvent {
  return { id, event: name, key, bytes: Buffer.from(`{"n":${id}}`), createdAt: 1_700_000_000_000 + id }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

/** Rows committed in the file, as another process would see them. */
function committed(path: string, table: 'queue' | 'dead'): number {
  const db = new (loadSqlite())(path, { readonly: true })
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  } finally {
    db.close()
  }
}

test('sqlite store: events written in one turn are committed after it, and a new store takes them back in order with their ids', async (t) => {
  const path = join(tempDir(t), 'q.db')
  const store = openAt(path)
  assert.deepEqual(store.recover(), [])
  const first = store.firstId
  for (let i = 0; i < 5; i++) store.add(event(first + i, `c${i % 2}`))
  assert.equal(committed(path, 'queue'), 0, 'nothing is written inside the turn')
  await turn()
  assert.equal(committed(path, 'queue'), 5)
  store.remove(first + 1)
  await turn()
  assert.equal(store.stats().written, 5)
  const prefix = store.idPrefix
  // No close: the file is left as a crash leaves it.
  const again = openAt(path)
  assert.equal(again.idPrefix, prefix, 'the webhook-id prefix is kept')
  assert.ok(again.firstId > first + 4, 'ids given before are never given again')
  const recovered = again.recover()
  assert.deepEqual(
    recovered.map((e) => [e.id, e.key, e.bytes.toString()]),
    [0, 2, 3, 4].map((i) => [first + i, `c${i % 2}`, `{"n":${first + i}}`]),
  )
  assert.equal(again.stats().recovered, 4)
  again.close()
  store.close()
})

test('sqlite store: a turn of many events is written whole (rows written many to a statement) and settled in ranges', async (t) => {
  const path = join(tempDir(t), 'q.db')
  const store = openAt(path)
  const first = store.firstId
  for (let i = 0; i < 200; i++) store.add(event(first + i, `c${i % 7}`))
  await turn()
  assert.equal(committed(path, 'queue'), 200)
  // Settled out of order, with holes: 0-49, 51-99, 150, 199.
  const settled = [
    ...Array.from({ length: 100 }, (_, i) => first + i).filter((id) => id !== first + 50),
    first + 150,
    first + 199,
  ]
  for (const id of settled.reverse()) store.remove(id)
  await turn()
  const again = openAt(path)
  assert.deepEqual(
    again.recover().map((e) => [e.id - first, e.key, e.bytes.toString()]),
    Array.from({ length: 200 }, (_, i) => i)
      .filter((i) => i === 50 || (i >= 100 && i !== 150 && i !== 199))
      .map((i) => [i, `c${i % 7}`, `{"n":${first + i}}`]),
  )
  again.close()
  store.close()
})

test("sqlite store: ids reserved at a start are never given again, even when the first run's events all left", async (t) => {
  const path = join(tempDir(t), 'q.db')
  const store = openAt(path)
  const id = store.firstId
  store.add(event(id))
  store.remove(id)
  store.close()
  const again = openAt(path)
  assert.ok(again.firstId > id)
  again.close()
})

test("sqlite store: commit 'event' writes inside add()", (t) => {
  const path = join(tempDir(t), 'q.db')
  const store = openAt(path, [], 10, 'event')
  store.add(event(store.firstId))
  assert.equal(committed(path, 'queue'), 1)
  store.close()
})

test('sqlite store: a failed event becomes a dead letter with its last status or error, and revive() puts it back with its id', async (t) => {
  const path = join(tempDir(t), 'q.db')
  const store = openAt(path)
  const id = store.firstId
  store.add(event(id, 'a', 'on_client_connack'))
  store.add(event(id + 1, 'b', 'on_message_publish'))
  store.add(event(id + 2, 'c', 'on_message_publish'))
  await turn()
  store.kill(id, { attempts: 1, status: 400, message: 'HTTP 400' })
  store.kill(id + 1, { attempts: 3, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' })
  store.remove(id + 2)
  await turn()
  assert.equal(committed(path, 'queue'), 0)
  assert.equal(committed(path, 'dead'), 2)
  assert.equal(store.stats().dead, 2)
  const db = new (loadSqlite())(path, { readonly: true })
  const rows = db.prepare('SELECT id, attempts, status, code, message FROM dead ORDER BY id').all()
  db.close()
  assert.deepEqual(rows, [
    { id, attempts: 1, status: 400, code: null, message: 'HTTP 400' },
    { id: id + 1, attempts: 3, status: null, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
  ])
  assert.deepEqual(
    store.revive({ event: 'on_message_publish' }).map((e) => e.id),
    [id + 1],
  )
  assert.deepEqual(store.revive({ since: Date.now() + 60_000 }), [])
  const revived = store.revive()
  assert.deepEqual(
    revived.map((e) => [e.id, e.key, e.bytes.toString()]),
    [[id, 'a', `{"n":${id}}`]],
  )
  assert.equal(committed(path, 'dead'), 0)
  assert.equal(committed(path, 'queue'), 2, 'revived events wait in the queue again until settled')
  assert.deepEqual(store.stats().replayed, 2)
  store.close()
})

test('sqlite store: dead letters are bounded, the oldest dropped and counted', async (t) => {
  const path = join(tempDir(t), 'q.db')
  const store = openAt(path, [], 3)
  const id = store.firstId
  for (let i = 0; i < 5; i++) store.add(event(id + i))
  await turn()
  for (let i = 0; i < 5; i++) {
    store.kill(id + i, { attempts: 1, status: 410 })
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  await turn()
  assert.equal(store.stats().dead, 3)
  assert.equal(store.stats().dead_dropped, 2)
  assert.deepEqual(
    store.revive().map((e) => e.id),
    [id + 2, id + 3, id + 4],
  )
  store.close()
})

test('sqlite store: a full disk is reported once and counted, never thrown; writes resume when there is room again', async (t) => {
  const dir = smallFileSystem(t, 256)
  const errors: Error[] = []
  writeFileSync(join(dir, 'filler'), Buffer.alloc(96 * 1024))
  const store = openAt(join(dir, 'q.db'), errors)
  let id = store.firstId
  const big = (n: number): StoredEvent => ({ ...event(n), bytes: Buffer.alloc(16 * 1024, 7) })
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 4; i++) store.add(big(id++))
    await turn()
  }
  const stats = store.stats()
  assert.equal(errors.length, 1, 'one report for a streak of failures')
  assert.equal((errors[0] as Error & { code: string }).code, 'SQLITE_FULL')
  assert.match(
    (errors[0] as Error).message,
    /could not write to the queue store .*q\.db; events are kept in memory only/,
  )
  assert.ok(stats.failing)
  assert.ok(stats.write_errors > 0)
  assert.equal(stats.written + stats.write_errors, 120, 'every event is either written or counted')
  // Room again: the filler file made before goes.
  rmSync(join(dir, 'filler'))
  store.add(event(id++))
  await turn()
  assert.equal(store.stats().failing, false)
  store.close()
})

test('openStore: a path in a read-only directory is reported and the webhook keeps going in memory', (t) => {
  const dir = smallFileSystem(t, 64, true)
  const errors: Error[] = []
  const store = openStore(
    { store: 'sqlite', path: join(dir, 'q.db'), commit: 'batch', synchronous: 'normal', maxDeadLetters: 10 },
    (error) => errors.push(error),
  )
  assert.equal(errors.length, 1)
  assert.match(
    (errors[0] as Error).message,
    /could not open the queue store .*q\.db; events are kept in memory only/,
  )
  assert.equal((errors[0] as Error & { code: string }).code, 'SQLITE_CANTOPEN')
  assert.equal(store.stats().failing, true)
  store.add(event(store.firstId))
  store.close()
})

test('memory store: keeps nothing, gives a random prefix per webhook', () => {
  const a = new MemoryStore()
  const b = new MemoryStore()
  assert.notEqual(a.idPrefix, b.idPrefix)
  assert.match(a.idPrefix, /^msg_[A-Za-z0-9_-]{16}$/)
  a.add()
  assert.deepEqual(a.recover(), [])
  assert.deepEqual(a.revive(), [])
  assert.equal(a.stats().written, 0)
})

test('queue config: a nanomq.conf webhook block takes a queue block', (t) => {
  const file = join(tempDir(t), 'nanomq.conf')
  writeFileSync(
    file,
    `webhook {\n  url = "http://127.0.0.1:8080/hook"\n  events = [ { event = "on_message_publish" } ]\n  queue { store = sqlite, path = "/var/lib/q.db", commit = event, max_dead_letters = 500 }\n}\n`,
  )
  const config = loadConfig(file)
  assert.deepEqual(config.queue, {
    store: 'sqlite',
    path: '/var/lib/q.db',
    commit: 'event',
    max_dead_letters: 500,
  })
  assert.deepEqual(resolveConfig(config).queue, {
    store: 'sqlite',
    path: '/var/lib/q.db',
    commit: 'event',
    synchronous: 'normal',
    maxDeadLetters: 500,
  })
})

test('queue config: bad values name the key', () => {
  assertRejected({ ...BASE, queue: 'sqlite' }, 'queue', 'must be an object, got string')
  assertRejected({ ...BASE, queue: {} }, 'queue.store', "is required ('memory' or 'sqlite')")
  assertRejected(
    { ...BASE, queue: { store: 'redis' } },
    'queue.store',
    "must be 'memory' or 'sqlite', got 'redis'",
  )
  assertRejected(
    { ...BASE, queue: { store: 'sqlite' } },
    'queue.path',
    "is required with store 'sqlite' (the database file)",
  )
  assertRejected(
    { ...BASE, queue: { store: 'memory', path: 'x' } },
    'queue.path',
    "applies only to store 'sqlite'",
  )
  assertRejected(
    { ...BASE, queue: { store: 'sqlite', path: 'x', commit: 'never' } },
    'queue.commit',
    "must be 'batch' or 'event', got 'never'",
  )
  assertRejected(
    { ...BASE, queue: { store: 'sqlite', path: 'x', max_dead_letters: 0 } },
    'queue.max_dead_letters',
    'must be a positive integer, got 0',
  )
  assertRejected(
    { ...BASE, queue: { store: 'sqlite', pth: 'x' } },
    'queue.pth',
    "unknown key, did you mean 'queue.path'?",
  )
})
