/**
 * `queue: { store: 'sqlite', path }`: every accepted event is written to an embedded SQLite database
 * (better-sqlite3, an optional dependency loaded only here) and leaves it only when delivered, dropped for
 * room, or failed for good (then it becomes a dead letter). A restart takes the waiting events back.
 *
 * Writes are gathered and committed once per turn of the event loop, in one transaction (WAL mode: a
 * commit appends to the log; with `synchronous: 'normal'` it is not fsynced, so a process crash loses
 * nothing committed, a power loss may lose the last commits). A write that fails (full disk, read-only
 * file) is reported and counted, never thrown: the events are still delivered from memory.
 */
import { randomBytes } from 'node:crypto'
import { loadSqlite, type SqliteDatabase, type SqliteStatement } from './load.ts'
import { type DeadRow, deadWhere, type Row, SCHEMA, storeError, toStored } from './sqlite-schema.ts'
import type {
  DeadLetterFilter,
  FailureInfo,
  QueueStore,
  StoredEvent,
  StoreErrorReporter,
  StoreStats,
} from './types.ts'

/** Ids reserved ahead at each start and whenever they run low: a crash never lets an id be given twice. */
const ID_BLOCK = 2 ** 20
/**
 * Events per transaction at most. A turn of the event loop can be long in a flood (libuv reads up to 32
 * chunks of 64 KiB from a socket in one go: 20,000 publishes in one turn, 200-450 ms here), and the events
 * of a turn wait for its end; this many events are written at once instead (a few ms of the broker's work).
 */
const MAX_BATCH = 1024
/** Rows per multi-row INSERT. */
const INSERT_ROWS = 64

export interface SqliteStoreOptions {
  path: string
  /** `'batch'`: one transaction per turn of the event loop; `'event'`: one per event. */
  commit: 'batch' | 'event'
  /** SQLite's `synchronous`: `'full'` fsyncs the log at each commit (survives a power loss). */
  synchronous: 'normal' | 'full'
  /** Most dead letters kept; past it the oldest are dropped. */
  maxDeadLetters: number
  report: StoreErrorReporter
}

interface Kill {
  id: number
  failure: FailureInfo
  at: number
}

/** Opens (or creates) the store at `options.path`; throws when the file cannot be opened or made. */
export class SqliteStore implements QueueStore {
  readonly kind = 'sqlite'
  readonly idPrefix: string
  readonly firstId: number
  readonly #options: SqliteStoreOptions
  readonly #db: SqliteDatabase
  readonly #insert: SqliteStatement
  readonly #delete: SqliteStatement
  /** `INSERT_ROWS` rows in one statement, and a range of ids in one: each statement run costs a crossing into C++. */
  readonly #insertMany: SqliteStatement
  readonly #deleteRange: SqliteStatement
  readonly #params: unknown[] = new Array(INSERT_ROWS * 5)
  readonly #bury: SqliteStatement
  readonly #setMeta: SqliteStatement
  readonly #trimDead: SqliteStatement
  readonly #write: () => void
  #reserved: number
  #adds: StoredEvent[] = []
  #removes: number[] = []
  #kills: Kill[] = []
  #scheduled = false
  #recovered: StoredEvent[] | undefined
  #written = 0
  #recoveredCount = 0
  #replayed = 0
  #dead: number
  #deadDropped = 0
  #writeErrors = 0
  #failing = false
  #closed = false
  /** What the transaction being written did to the dead letters. */
  #txDead = 0
  #txDeadDropped = 0

  constructor(options: SqliteStoreOptions) {
    this.#options = options
    const Database = loadSqlite()
    const db = new Database(options.path)
    this.#db = db
    try {
      db.pragma('journal_mode = WAL')
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
      // Another process (the `queue` or `replay` command) may hold the write lock for a moment.
      db.pragma('busy_timeout = 250')
      db.exec(SCHEMA)
      const meta = (name: string) =>
        (db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)
          ?.value
      this.#setMeta = db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)')
      let prefix = meta('id_prefix')
      if (prefix === undefined) {
        prefix = `msg_${randomBytes(12).toString('base64url')}`
        this.#setMeta.run('id_prefix', prefix)
      }
      this.idPrefix = prefix
      const maxUsed = db
        .prepare('SELECT max((SELECT max(id) FROM queue), (SELECT max(id) FROM dead)) AS id')
        .get() as {
        id: number | null
      }
      this.firstId = Math.max(Number(meta('next_id') ?? 0), (maxUsed.id ?? -1) + 1)
      this.#reserved = this.firstId + ID_BLOCK
      this.#setMeta.run('next_id', String(this.#reserved))
      this.#dead = (db.prepare('SELECT count(*) AS n FROM dead').get() as { n: number }).n
      this.#recovered = (
        db.prepare('SELECT id, event, key, bytes, created_at FROM queue ORDER BY id').all() as Row[]
      ).map(toStored)
    } catch (error) {
      db.close()
      throw error
    }
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO queue (id, event, key, bytes, created_at) VALUES (?, ?, ?, ?, ?)',
    )
    this.#delete = db.prepare('DELETE FROM queue WHERE id = ?')
    this.#insertMany = db.prepare(
      `INSERT OR REPLACE INTO queue (id, event, key, bytes, created_at) VALUES ${Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`,
    )
    this.#deleteRange = db.prepare('DELETE FROM queue WHERE id BETWEEN ? AND ?')
    this.#bury = db.prepare(
      `INSERT OR REPLACE INTO dead (id, event, key, bytes, created_at, failed_at, attempts, status, code, message)
       SELECT id, event, key, bytes, created_at, ?, ?, ?, ?, ? FROM queue WHERE id = ?`,
    )
    this.#trimDead = db.prepare(
      'DELETE FROM dead WHERE id IN (SELECT id FROM dead ORDER BY failed_at, id LIMIT ?)',
    )
    this.#write = db.transaction(() => this.#writePending())
  }

  recover(): StoredEvent[] {
    const recovered = this.#recovered ?? []
    this.#recovered = undefined
    this.#recoveredCount += recovered.length
    return recovered
  }

  add(event: StoredEvent): void {
    if (this.#closed) return
    if (event.id >= this.#reserved - ID_BLOCK / 2) this.#reserve(event.id)
    this.#adds.push(event)
    if (this.#options.commit === 'event' || this.#adds.length >= MAX_BATCH) this.commit()
    else this.#schedule()
  }

  remove(id: number): void {
    if (this.#closed) return
    this.#removes.push(id)
    this.#schedule()
  }

  kill(id: number, failure: FailureInfo): void {
    if (this.#closed) return
    this.#kills.push({ id, failure, at: Date.now() })
    this.#schedule()
  }

  revive(filter: DeadLetterFilter = {}): StoredEvent[] {
    if (this.#closed) return []
    this.commit()
    const { where, params } = deadWhere(filter)
    let revived: StoredEvent[] = []
    try {
      this.#db.transaction(() => {
        const rows = this.#db.prepare(`SELECT * FROM dead ${where} ORDER BY id`).all(...params) as DeadRow[]
        for (const row of rows) {
          this.#insert.run(row.id, row.event, row.key, row.bytes, row.created_at)
          this.#db.prepare('DELETE FROM dead WHERE id = ?').run(row.id)
        }
        revived = rows.map(toStored)
      })()
    } catch (error) {
      this.#failed(error, 0)
      return []
    }
    this.#dead -= revived.length
    this.#replayed += revived.length
    return revived
  }

  commit(): void {
    this.#scheduled = false
    if (this.#closed || this.#adds.length + this.#removes.length + this.#kills.length === 0) return
    const adds = this.#adds.length
    this.#txDead = 0
    this.#txDeadDropped = 0
    try {
      this.#write()
      this.#written += adds
      this.#dead += this.#txDead
      this.#deadDropped += this.#txDeadDropped
      this.#failing = false
    } catch (error) {
      this.#failed(error, adds)
    }
    this.#adds = []
    this.#removes = []
    this.#kills = []
  }

  stats(): StoreStats {
    return {
      kind: 'sqlite',
      written: this.#written,
      recovered: this.#recoveredCount,
      replayed: this.#replayed,
      dead: this.#dead,
      dead_dropped: this.#deadDropped,
      write_errors: this.#writeErrors,
      failing: this.#failing,
    }
  }

  close(): void {
    if (this.#closed) return
    this.commit()
    this.#closed = true
    try {
      this.#db.close()
    } catch (error) {
      this.#options.report(storeError('could not close the queue store', error))
    }
  }

  /** Adds before settlements: an event is always added in an earlier turn than, or the same turn as, its settlement. */
  #writePending(): void {
    this.#insertAll(this.#adds)
    this.#deleteAll(this.#removes)
    let buried = 0
    for (const { id, failure, at } of this.#kills) {
      buried += this.#bury.run(
        at,
        failure.attempts,
        failure.status ?? null,
        failure.code ?? null,
        failure.message ?? null,
        id,
      ).changes
      this.#delete.run(id)
    }
    const excess = this.#dead + buried - this.#options.maxDeadLetters
    const dropped = excess > 0 ? this.#trimDead.run(excess).changes : 0
    // Counted by commit() only once the transaction is through: a failed one changed nothing.
    this.#txDead = buried - dropped
    this.#txDeadDropped = dropped
  }

  #insertAll(adds: StoredEvent[]): void {
    const params = this.#params
    let i = 0
    for (; i + INSERT_ROWS <= adds.length; i += INSERT_ROWS) {
      for (let j = 0; j < INSERT_ROWS; j++) {
        const event = adds[i + j] as StoredEvent
        const at = j * 5
        params[at] = event.id
        params[at + 1] = event.event
        params[at + 2] = event.key
        params[at + 3] = event.bytes
        params[at + 4] = event.createdAt
      }
      this.#insertMany.run(...params)
    }
    params.fill(undefined)
    for (; i < adds.length; i++) {
      const event = adds[i] as StoredEvent
      this.#insert.run(event.id, event.event, event.key, event.bytes, event.createdAt)
    }
  }

  /** Settled ids are mostly consecutive (events go out in arrival order): one statement per run of them. */
  #deleteAll(ids: number[]): void {
    if (ids.length === 0) return
    ids.sort((a, b) => a - b)
    let first = ids[0] as number
    let last = first
    for (let i = 1; i <= ids.length; i++) {
      const id = ids[i]
      if (id === last + 1) {
        last = id
        continue
      }
      if (first === last) this.#delete.run(first)
      else this.#deleteRange.run(first, last)
      if (id === undefined) break
      first = id
      last = id
    }
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.commit())
  }

  /** Ids from `id` on are reserved before any is written: synchronously, once per `ID_BLOCK / 2` ids. */
  #reserve(id: number): void {
    this.#reserved = id + ID_BLOCK
    try {
      this.#setMeta.run('next_id', String(this.#reserved))
    } catch (error) {
      this.#failed(error, 0)
    }
  }

  /** The first failure of a streak is reported; the rest are counted. */
  #failed(error: unknown, events: number): void {
    this.#writeErrors += events
    if (this.#failing) return
    this.#failing = true
    this.#options.report(
      storeError(
        `could not write to the queue store ${this.#options.path}; events are kept in memory only until it works again`,
        error,
      ),
    )
  }
}
