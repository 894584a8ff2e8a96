import { EXIT } from './args.ts'
import { warn } from './log.ts'

/**
 * On SIGINT or SIGTERM, runs `stop` (which drains the webhook, bounded by its own timeout) and exits 0.
 * A second SIGINT while stopping exits at once with 130, for the impatient; a SIGTERM then is ignored, since
 * a supervisor (or a script relaying Ctrl-C) may send one right after the terminal's SIGINT.
 */
export function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === 'SIGTERM') return
      warn(`${signal} again: exiting without waiting for the queue`)
      process.exit(130)
    }
    stopping = true
    stop().then(
      () => process.exit(EXIT.ok),
      (error: unknown) => {
        warn(`could not stop cleanly: ${(error as Error).message}`)
        process.exit(EXIT.failure)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
