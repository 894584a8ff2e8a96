import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { type AddressInfo, connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const MOSQUITTO = '/usr/sbin/mosquitto'
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'

/** Why the mosquitto tests cannot run here, or `undefined` when they can. */
export const mosquittoMissing: string | undefined = existsSync(MOSQUITTO)
  ? undefined
  : `mosquitto is not installed (${MOSQUITTO}); apt-get install -y mosquitto`

export interface MosquittoOptions {
  /**
   * Users and passwords; when given, anonymous clients are refused.
   * @default anonymous clients allowed
   */
  users?: Record<string, string>
}

export interface RunningMosquitto {
  port: number
  /** `mqtt://127.0.0.1:PORT` */
  url: string
  close(): Promise<void>
}

/** A real Mosquitto on 127.0.0.1 and a free port, with its own config file; `close()` stops it. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningMosquitto> {
  // The port is picked before mosquitto binds it, so a parallel test may take it first: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (error) {
      if (attempt === 3 || !(error instanceof PortTakenError)) throw error
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(options: MosquittoOptions): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'mqtt-webhook-mosquitto-'))
  const port = await freePort()
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'user root',
  ]
  if (options.users === undefined) lines.push('allow_anonymous true')
  else {
    const passwords = join(dir, 'passwords')
    let create = true
    for (const [user, password] of Object.entries(options.users)) {
      const flags = create ? ['-b', '-c'] : ['-b']
      await promisify(execFile)(MOSQUITTO_PASSWD, [...flags, passwords, user, password])
      create = false
    }
    lines.push('allow_anonymous false', `password_file ${passwords}`)
  }
  const conf = join(dir, 'mosquitto.conf')
  await writeFile(conf, `${lines.join('\n')}\n`)
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = once(child, 'exit')
  try {
    await waitUntilAccepting(port, child, () => stderr)
  } catch (error) {
    child.kill('SIGKILL')
    await exited
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A port that was free a moment ago (mosquitto needs a number in its config file). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

async function waitUntilAccepting(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const Failure = /in use/i.test(stderr()) ? PortTakenError : Error
      throw new Failure(`mosquitto exited with ${child.exitCode}: ${stderr()}`)
    }
    if (await accepts(port)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`mosquitto did not accept connections on ${port} within 10 s: ${stderr()}`)
}

/** Whether something on 127.0.0.1 accepts a TCP connection on `port` now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
