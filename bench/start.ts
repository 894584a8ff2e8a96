/**
 * How soon a new webhook's first event reaches its endpoint (issue 14: "the first event goes out within
 * 100 ms of handle() on an idle machine"): `createWebhook` then `handle()` at once, to the first request at a
 * loopback receiver, from the build (`dist/`: from source, the thread's modules go through tsx). Each round is
 * a fresh process, since a start is what is measured; the baseline, in alternating rounds, is a bare worker
 * thread's start in a fresh process, which the library cannot make faster.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchPart } from './part.ts'

const ROUNDS = 7
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url))

const FIRST_REQUEST = `
const { createServer } = await import('node:http')
const { createWebhook } = await import(${JSON.stringify(dist)})
let first
const server = createServer((_q, s) => { s.end(); first ??= performance.now() }).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const started = performance.now()
const webhook = createWebhook({ url: 'http://127.0.0.1:' + server.address().port + '/', events: [{ event: 'on_client_connack' }] })
webhook.handle({ event: 'on_client_connack', clientid: 'c', proto_ver: 4, keepalive: 60, conn_ack: 'success' })
while (first === undefined) await new Promise((resolve) => setTimeout(resolve, 1))
console.log(first - started)
await webhook.close()
server.close()
`

const BARE_WORKER = `
const { Worker } = await import('node:worker_threads')
const started = performance.now()
const worker = new Worker('', { eval: true })
worker.once('online', () => { console.log(performance.now() - started); worker.terminate() })
`

/** Runs `script` as a module file (not `--input-type=module -e`: worker threads inherit that flag, and refuse it). */
function measure(dir: string, script: string): number {
  const path = join(dir, 'start.mjs')
  writeFileSync(path, script)
  const output = execFileSync(process.execPath, [path], { encoding: 'utf8', timeout: 30_000 })
  return Number(output.trim())
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

export async function run(): Promise<BenchPart> {
  if (!existsSync(dist)) throw new Error('no dist/: run npm run build first')
  const first: number[] = []
  const bare: number[] = []
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-bench-start-'))
  try {
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(measure(dir, BARE_WORKER))
      first.push(measure(dir, FIRST_REQUEST))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const firstMs = median(first)
  const bareMs = median(bare)
  return {
    rows: [
      [`first request after createWebhook, median of ${ROUNDS} (ms)`, firstMs.toFixed(0)],
      [`a bare worker thread's start, median of ${ROUNDS} (ms)`, bareMs.toFixed(0)],
      ['first request / bare worker start', (firstMs / bareMs).toFixed(1)],
    ],
    results: {
      start_first_request_ms: Math.round(firstMs),
      start_ratio: Number((firstMs / bareMs).toFixed(2)),
    },
  }
}
