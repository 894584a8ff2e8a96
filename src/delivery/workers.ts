/**
 * The pool of workers that run attempts: at most `poolSize`, each taking jobs until none is left, so that
 * p-queue costs once per burst rather than once per job.
 */
import PQueue from 'p-queue'

export class Workers<T> {
  readonly #size: number
  readonly #pool: PQueue
  /** The next job that may start now, if any. */
  readonly #next: () => T | undefined
  /** Runs one job; never rejects. */
  readonly #run: (job: T) => Promise<void>
  /** Closed past its deadline: idle workers end instead of waiting. */
  readonly #stopped: () => boolean
  #workers = 0
  /** Workers waiting for a job; `pump` resumes one with it, `stop` resumes them all with nothing. */
  #idle: Array<(job: T | undefined) => void> = []

  constructor(
    size: number,
    next: () => T | undefined,
    run: (job: T) => Promise<void>,
    stopped: () => boolean,
  ) {
    this.#size = size
    this.#pool = new PQueue({ concurrency: size })
    this.#next = next
    this.#run = run
    this.#stopped = stopped
  }

  /** Hands startable jobs to idle workers, then starts workers while the pool has room. */
  pump(): void {
    for (;;) {
      const idle = this.#idle.pop()
      if (idle === undefined && this.#workers >= this.#size) return
      const job = this.#next()
      if (job === undefined) {
        if (idle !== undefined) this.#idle.push(idle)
        return
      }
      if (idle !== undefined) idle(job)
      else {
        this.#workers++
        void this.#pool.add(() => this.#work(job))
      }
    }
  }

  /** Ends the idle workers. */
  stop(): void {
    const idle = this.#idle
    this.#idle = []
    for (const resume of idle) resume(undefined)
  }

  /**
   * One pool slot: runs `first`, then job after job. With nothing to do it waits for `pump` to hand it the
   * next job rather than ending: events trickling in one at a time (a broker's normal pace) would otherwise
   * pay for a p-queue task each. Ends only at close. Never rejects.
   */
  async #work(first: T): Promise<void> {
    try {
      let job: T | undefined = first
      while (job !== undefined) {
        await this.#run(job)
        job = this.#next()
        if (job === undefined && !this.#stopped())
          job = await new Promise<T | undefined>((resolve) => this.#idle.push(resolve))
      }
    } finally {
      this.#workers--
    }
  }
}
