import type { Worker } from 'node:worker_threads'
import { startSiblingWorker } from '../worker-thread.ts'
import type { Base62Reply, Base62Request } from './base62-worker.ts'

interface PendingRequest {
  resolve: (text: string) => void
  reject: (error: Error) => void
}

/** One worker for the whole process, started on first use; replaced by a new one after a crash. */
let worker: Worker | undefined
const pending = new Map<number, PendingRequest>()
let nextId = 0

/**
 * `encodeBase62(payload)`, computed on a worker thread so that a large payload does not stall this
 * event loop. Rejects (never hangs) when the worker fails. While requests are pending the worker keeps
 * the process alive, as an HTTP request in flight would; idle, it never does.
 */
export function encodeBase62Async(payload: Uint8Array): Promise<string> {
  let target: Worker
  try {
    target = worker ?? startWorker()
  } catch (error) {
    return Promise.reject(new Error('base62 worker could not start', { cause: error }))
  }
  const id = nextId++
  // A copy of just these bytes, handed over without a second copy; the caller's buffer may be a slice
  // of a larger one (a whole packet or read chunk), which cloning the view would copy whole.
  const copy = new Uint8Array(payload)
  const request: Base62Request = { id, payload: copy }
  return new Promise<string>((resolve, reject) => {
    pending.set(id, { resolve, reject })
    if (pending.size === 1) target.ref()
    target.postMessage(request, [copy.buffer])
  })
}

/**
 * A promise whose work starts only when something first waits for it (`then`, `await`). A job's body is one:
 * the queue decides whether the job may wait at all (its budget may drop it at once, or drop it later to make
 * room) before the payload is copied to the worker, so a dropped job never costs an encoding or a copy.
 */
export class Deferred<T> extends Promise<T> {
  // Derived promises (`then`, `catch`) are plain ones: only the first `then` here starts the work.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise
  }

  #start: (() => void) | undefined

  constructor(work: () => Promise<T>) {
    let settle: ((value: T | PromiseLike<T>) => void) | undefined
    let fail: ((reason: unknown) => void) | undefined
    super((resolve, reject) => {
      settle = resolve
      fail = reject
    })
    this.#start = () => {
      try {
        work().then(settle, fail)
      } catch (error) {
        fail?.(error)
      }
    }
  }

  // biome-ignore lint/suspicious/noThenProperty: a Promise subclass, on purpose: the first `then` starts the work.
  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const start = this.#start
    if (start !== undefined) {
      this.#start = undefined
      start()
    }
    return super.then(onFulfilled, onRejected)
  }
}

function startWorker(): Worker {
  const started = startSiblingWorker(import.meta.url, 'base62-worker')
  started.unref()
  started.on('message', (reply: Base62Reply) => settle(reply))
  started.on('error', (error) => failAll(started, error))
  started.on('messageerror', (error) => failAll(started, error))
  started.on('exit', (code) => failAll(started, new Error(`base62 worker exited with code ${code}`)))
  worker = started
  return started
}

function settle(reply: Base62Reply): void {
  const request = pending.get(reply.id)
  if (request === undefined) return
  pending.delete(reply.id)
  if (pending.size === 0) worker?.unref()
  if ('text' in reply) request.resolve(reply.text)
  else request.reject(new Error(`base62 encoding failed: ${reply.error}`))
}

/** A dead worker answers nothing more: reject what it held, and let the next request start a new one. */
function failAll(failed: Worker, cause: Error): void {
  if (worker !== failed) return
  worker = undefined
  const message = `base62 worker failed: ${cause.message}`
  for (const request of pending.values()) request.reject(new Error(message, { cause }))
  pending.clear()
  void failed.terminate()
}

/** Stops the worker, rejecting whatever it still holds (tests use it to check that nothing hangs). */
export async function stopBase62Worker(): Promise<void> {
  const current = worker
  if (current === undefined) return
  failAll(current, new Error('stopped'))
  await current.terminate()
}
