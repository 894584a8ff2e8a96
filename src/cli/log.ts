import type { Logger } from '../webhook-types.ts'

/** Lines for people: what the command does on stdout, warnings on stderr. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

export function warn(line: string): void {
  process.stderr.write(`mqtt-webhook: ${line}\n`)
}

/** The webhook's logger: warnings as one line each; debug lines only with `verbose`. */
export function cliLogger(verbose = false): Logger {
  const line = (obj: object, msg?: string) => `${msg ?? ''} ${JSON.stringify(obj)}`.trim()
  return {
    debug: (obj, msg) => {
      if (verbose) say(`debug ${line(obj, msg)}`)
    },
    info: (obj, msg) => say(line(obj, msg)),
    warn: (obj, msg) => warn(line(obj, msg)),
    error: (obj, msg) => warn(line(obj, msg)),
  }
}
