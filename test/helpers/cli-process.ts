import { type ChildProcess, spawn } from 'node:child_process'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'

/** The repository's root, where `npm start` and the command run from. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface RunningProcess {
  child: ChildProcess
  /** Lines printed on stdout so far. */
  stdout: string[]
  /** Lines printed on stderr so far. */
  stderr: string[]
  /** Stdout lines that are JSON log lines (pino's), parsed. */
  logs: LogLine[]
  /** Resolves with the first stdout line (past or future) matching `pattern`; rejects after `timeoutMs` or at exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** The same for the `msg` of a JSON log line; resolves with the match, the line's fields in `.log`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray & { log: LogLine }>
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | NodeJS.Signals>
  /** SIGKILL if still running, then waits for the exit: for `t.after`. */
  kill(): Promise<void>
}

/** A JSON log line as the command writes it. */
export interface LogLine {
  level: string
  time: string
  msg: string
  [field: string]: unknown
}

function parseLog(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    return JSON.parse(line) as LogLine
  } catch {
    return undefined
  }
}

/**
 * Runs `node --import tsx <script> ...args` (or `bash <script> ...args`) from the repository's root,
 * collecting its output by lines.
 */
export function runScript(
  script: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  interpreter: 'node' | 'bash' = 'node',
): RunningProcess {
  const [command, prefix] = interpreter === 'node' ? [process.execPath, ['--import', 'tsx']] : ['bash', []]
  const child = spawn(command, [...prefix, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  let waiters: Array<() => void> = []
  let done = false
  const collect = (stream: NodeJS.ReadableStream, lines: string[]) => {
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      lines.push(...parts)
      for (const wake of waiters) wake()
    })
    stream.on('end', () => {
      if (partial) lines.push(partial)
      for (const wake of waiters) wake()
    })
  }
  collect(child.stdout as NodeJS.ReadableStream, stdout)
  collect(child.stderr as NodeJS.ReadableStream, stderr)
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on('close', (code, signal) => {
      done = true
      for (const wake of waiters) wake()
      resolve(code ?? (signal as NodeJS.Signals))
    })
  })
  return {
    child,
    stdout,
    stderr,
    exited,
    get logs() {
      return stdout.flatMap((line) => parseLog(line) ?? [])
    },
    async waitForLog(pattern, timeoutMs = 30_000) {
      const [line] = await this.waitForLine(
        // A matcher whose match is the whole line, when the line's `msg` matches `pattern`.
        {
          [Symbol.match]: (text: string) => (parseLog(text)?.msg.match(pattern) ? [text] : null),
          toString: () => `a log line whose msg matches ${pattern}`,
        } as unknown as RegExp,
        timeoutMs,
      )
      const log = parseLog(line as string) as LogLine
      return Object.assign(log.msg.match(pattern) as RegExpMatchArray, { log })
    },
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer)
          waiters = waiters.filter((w) => w !== check)
        }
        const check = () => {
          for (const line of stdout) {
            const match = line.match(pattern)
            if (match) {
              finish()
              resolve(match)
              return
            }
          }
          if (done) {
            finish()
            reject(
              new Error(
                `exited before printing ${pattern}; stdout: ${stdout.join('\n')} stderr: ${stderr.join('\n')}`,
              ),
            )
          }
        }
        const timer = setTimeout(() => {
          finish()
          reject(new Error(`no line matching ${pattern} after ${timeoutMs} ms; stdout: ${stdout.join('\n')}`))
        }, timeoutMs)
        waiters.push(check)
        check()
      })
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** Runs the `mqtt-webhook` command from source. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  return runScript('src/cli/index.ts', args, env)
}

/**
 * `mqtt-webhook broker --port 0 ...args`, killed when the test ends; resolves once it logs that it listens
 * on one loopback TCP port, with that port and its URL.
 */
export async function startCliBroker(
  t: TestContext,
  args: string[],
): Promise<{ cli: RunningProcess; port: number; url: string }> {
  const cli = runCli(['broker', '--port', '0', ...args])
  t.after(() => cli.kill())
  const [, port] = await cli.waitForLog(/^mqtt-webhook broker listening on mqtt:\/\/127\.0\.0\.1:(\d+)$/)
  return { cli, port: Number(port), url: `mqtt://127.0.0.1:${port}` }
}

/**
 * `mqtt-webhook proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:<upstreamPort> --config <config> ...args`,
 * killed when the test ends; resolves once it logs that it listens and relays to that upstream, with its URL.
 */
export async function startCliProxy(
  t: TestContext,
  upstreamPort: number,
  config: string,
  args: string[] = [],
): Promise<{ cli: RunningProcess; url: string }> {
  const cli = runCli([
    'proxy',
    '--listen',
    '127.0.0.1:0',
    '--upstream',
    `127.0.0.1:${upstreamPort}`,
    '--config',
    config,
    ...args,
  ])
  t.after(() => cli.kill())
  const [, url] = await cli.waitForLog(
    new RegExp(
      `^mqtt-webhook proxy listening on (mqtt://127\\.0\\.0\\.1:\\d+), relaying to 127\\.0\\.0\\.1:${upstreamPort}$`,
    ),
  )
  return { cli, url: url as string }
}
