/**
 * Started jobs waiting to go again: for a retry timer or for their body (`parked`), then, once that is
 * over, in line to go before any new job (`ready`). Their keys stay busy meanwhile, so per-client order
 * holds.
 */
import { type Entry, hasPendingBody } from './entry.ts'
import { Ring } from './ring.ts'

export class ParkedJobs {
  readonly #ready = new Ring<Entry>(64)
  readonly #parked = new Set<Entry>()
  readonly #pump: () => void

  constructor(pump: () => void) {
    this.#pump = pump
  }

  shiftReady(): Entry | undefined {
    return this.#ready.shift()
  }

  /** It may go as soon as the endpoint and the budget allow. */
  ready(entry: Entry): void {
    entry.state = 'ready'
    this.#ready.push(entry)
  }

  /** Its turn came before its body (or a batch member's) was written: `awaitBody` brings it back. */
  waitForBody(entry: Entry): void {
    entry.state = 'body'
    this.#parked.add(entry)
  }

  retryAfter(entry: Entry, delayMs: number): void {
    entry.state = 'backoff'
    this.#parked.add(entry)
    entry.timer = setTimeout(() => this.#wake(entry), delayMs)
  }

  awaitBody(entry: Entry, body: Promise<string>): void {
    body.then(
      (text) => {
        entry.body = text
        this.#bodySettled(entry)
      },
      () => {
        entry.bodyError = true
        entry.body = ''
        this.#bodySettled(entry)
      },
    )
  }

  /** It is finished (reported or dropped): no timer or body may bring it back. */
  delete(entry: Entry): void {
    this.#parked.delete(entry)
  }

  /** At close, past its deadline: everything here is dropped. */
  dropAll(drop: (entry: Entry) => void): void {
    for (let entry = this.#ready.shift(); entry; entry = this.#ready.shift()) drop(entry)
    for (const entry of this.#parked) {
      clearTimeout(entry.timer)
      drop(entry)
    }
  }

  #bodySettled(entry: Entry): void {
    const unit = entry.lead ?? entry
    if (unit.state === 'body' && !(unit.batch?.some(hasPendingBody) ?? false)) this.#wake(unit)
  }

  /** Its retry delay is over, or its body is ready. */
  #wake(entry: Entry): void {
    if (!this.#parked.delete(entry)) return
    entry.timer = undefined
    this.ready(entry)
    this.#pump()
  }
}
