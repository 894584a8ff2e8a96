/**
 * A counting webhook endpoint in its own process, for the flood and sustained benches: answers every POST
 * with an empty 200 and counts events (a batch's array counts its elements). A payload that is a decimal
 * number is taken as the publisher's send time (ms since the epoch): its publish→arrival latency is kept.
 * `GET /stats` answers `{events, requests, first, last, latencies_ms}` and resets; `GET /peek` only counts. Prints `{"port":N}`.
 */
import { createServer } from 'node:http'
import { listenForParent } from './child.ts'

let events = 0
let requests = 0
let first = 0
let last = 0
let latencies: number[] = []

const server = createServer((request, response) => {
  if (request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'application/json' })
    if (request.url === '/peek') return void response.end(JSON.stringify({ events, requests }))
    response.end(JSON.stringify({ events, requests, first, last, latencies_ms: latencies }))
    events = 0
    requests = 0
    first = 0
    last = 0
    latencies = []
    return
  }
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const now = Date.now()
    const text = Buffer.concat(chunks).toString('utf8')
    requests++
    if (first === 0) first = now
    last = now
    let bodies: unknown[] = []
    try {
      const parsed = JSON.parse(text) as unknown
      bodies = Array.isArray(parsed) ? parsed : [parsed]
    } catch {}
    events += bodies.length
    for (const body of bodies) {
      const sent = Number((body as { payload?: unknown }).payload)
      if (Number.isFinite(sent) && sent > 1e12) latencies.push(now - sent)
    }
    response.writeHead(200, { 'content-length': '0' })
    response.end()
  })
})
// Node's default: NanoMQ opens a connection per event and never closes it; a longer idle timeout holds
// its connections (and, it seems, its workers) open for as long.
server.keepAliveTimeout = Number(process.env.BENCH_RECEIVER_KEEPALIVE_MS ?? 5000)
listenForParent(server)
