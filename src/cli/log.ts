import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino'
import pretty from 'pino-pretty'

/** The levels `--log-level` takes, most severe first. */
export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]

/** The command's output that is not a log: usage, `--version`. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** A mistake or a failure before logging starts: `mqtt-webhook: ...` on stderr. */
export function warn(line: string): void {
  process.stderr.write(`mqtt-webhook: ${line}\n`)
}

export interface CliLoggerOptions {
  /** @default 'info' */
  level?: LevelWithSilent
  /**
   * Where lines go; pretty when it is a terminal, JSON lines otherwise.
   * @default process.stdout
   */
  stream?: NodeJS.WriteStream
}

/**
 * The commands' logger: JSON lines with an ISO `time` and a named `level` (what log shippers read), or
 * pino-pretty's coloured lines on a terminal. Synchronous writes, so that the `stopped` line is out before
 * the process exits. Fields that could carry a secret are censored as a second line of defence: the
 * webhook already redacts its messages.
 */
export function createCliLogger(options: CliLoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stdout
  const destination: DestinationStream = stream.isTTY
    ? pretty({ sync: true, destination: stream, translateTime: 'SYS:HH:MM:ss.l', singleLine: true })
    : stream === process.stdout
      ? pino.destination({ fd: 1, sync: true })
      : stream
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['secret', 'password', 'headers.authorization', '*.secret', '*.password', '*.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  )
}
