import type { Logger } from '../webhook-types.ts'
import { EXIT } from './args.ts'
import { warn } from './log.ts'

/** What ends the command: a signal, or the parent process going away (`parent-exited`). */
export type StopCause = NodeJS.Signals | 'parent-exited'

/** How often the parent is looked for: an orphan drains at most this much later than a signalled child. */
const PARENT_CHECK_MS = 1000

/**
 * On SIGINT, SIGTERM or SIGHUP, runs `stop` once (it drains the webhook, bounded by its own timeout) and
 * exits with the code it returns. SIGHUP drains like SIGTERM: the terminal is gone, or a supervisor wants
 * the process to end; there is no reload (restart the process to read a changed config).
 *
 * The same happens when npm's parent process exits: run through `npx` or `npm start`, whose npm may be
 * killed without passing the signal on, the command would otherwise go on as an orphan, holding its port.
 * Started otherwise, its parent going away means nothing: `nohup`, `setsid` and `(cmd &)` start a process
 * meant to outlive the shell that started it.
 *
 * A second SIGINT while stopping exits at once with 130, for the impatient; a SIGTERM or SIGHUP then is
 * ignored, since a supervisor (or a script relaying Ctrl-C) may send one right after the terminal's SIGINT.
 */
export function stopOnSignal(logger: Logger | undefined, stop: (cause: StopCause) => Promise<number>): void {
  let stopping = false
  const onStop = (cause: StopCause) => {
    if (stopping) {
      if (cause !== 'SIGINT') return
      const message = 'SIGINT again: exiting without waiting for the queue'
      if (logger) logger.warn({ signal: cause }, message)
      else warn(message)
      process.exit(130)
    }
    stopping = true
    clearInterval(parentCheck)
    stop(cause).then(
      (code) => process.exit(code),
      (error: unknown) => {
        const message = `could not stop cleanly: ${(error as Error).message}`
        if (logger) logger.error({ err: { message: (error as Error).message } }, message)
        else warn(message)
        process.exit(EXIT.failure)
      },
    )
  }
  process.on('SIGINT', onStop)
  process.on('SIGTERM', onStop)
  process.on('SIGHUP', onStop)
  const parentCheck = startedByNpm() ? watchParent(() => onStop('parent-exited')) : undefined
}

/** npm (`npx`, `npm exec`, `npm start`…) says so in its children's environment (npm 7 and later). */
function startedByNpm(): boolean {
  return process.env.npm_command !== undefined
}

function watchParent(onExit: () => void): NodeJS.Timeout {
  const parent = process.ppid
  const check = setInterval(() => {
    if (process.ppid !== parent) onExit()
  }, PARENT_CHECK_MS)
  return check.unref()
}
