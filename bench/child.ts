/** Bench helpers that run in a process of their own (receivers, brokers), so that their cost is not measured. */
import { type ChildProcess, spawn } from 'node:child_process'
import type { Server } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface Child {
  /** The first line the child printed, parsed. */
  first: unknown
  /** Every later line, as printed. */
  lines: string[]
  stop(): void
}

/** Runs `bench/<script>` under tsx with `args` and waits for its first line of JSON. */
export async function startChild(script: string, args: string[] = []): Promise<Child> {
  const path = fileURLToPath(new URL(script, import.meta.url))
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const later: string[] = []
  const first = await new Promise<unknown>((resolve, reject) => {
    lines.once('line', (line) => {
      lines.on('line', (next) => later.push(next))
      resolve(JSON.parse(line))
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
  return {
    first,
    lines: later,
    stop() {
      lines.close()
      child.stdin?.end()
      child.kill()
    },
  }
}

/**
 * The child's side of `startChild` for a server: listens on a free loopback port, prints `{"port":N}` as its
 * first line, and exits when its stdin closes (when the parent calls `stop()`).
 */
export function listenForParent(server: Server): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`)
  })
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}
