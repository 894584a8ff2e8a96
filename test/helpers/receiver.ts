import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  method: string
  /** Path and query. */
  path: string
  headers: IncomingHttpHeaders
  /** The raw body, as sent. */
  body: string
  /** Index of the TCP (or TLS) connection it came on, counted from 0. */
  connection: number
  /** The client certificate's subject CN, for TLS receivers that request one. */
  peerCommonName?: string
}

/** What to answer; a number is a status with an empty body. */
export type Reply =
  | number
  | {
      status: number
      headers?: Record<string, string>
      body?: string
      /** Wait this long before answering. */
      delayMs?: number
      /** Never answer (the client must give up); the socket is destroyed when the receiver closes. */
      hang?: boolean
      /** Send the status and headers at once, then one byte of body every `dripMs`, never ending. */
      dripMs?: number
    }

export interface ReceiverOptions {
  /**
   * Decides the answer to each request; `index` counts all requests from 0.
   * @default 200 for everything
   */
  reply?: (request: ReceivedRequest, index: number) => Reply
  /** Serve HTTPS with these options instead of HTTP. */
  tls?: HttpsOptions
  /**
   * Listen on this port (to bring an endpoint back where it was).
   * @default a free port
   */
  port?: number
}

export interface Receiver {
  /** `http://127.0.0.1:PORT/hook` (or https). */
  url: string
  port: number
  /** Every request received, in arrival order (also those answered with an error status). */
  requests: ReceivedRequest[]
  /** Requests answered with a 2xx, in answer order. */
  accepted: ReceivedRequest[]
  /** TCP connections accepted so far. */
  connections(): number
  /** Resolves once `count` requests have been accepted with a 2xx; rejects after `timeoutMs`. */
  waitForAccepted(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>
  /** Bodies of the accepted requests, parsed. */
  acceptedBodies(): unknown[]
  close(): Promise<void>
}

/** A real HTTP(S) server on 127.0.0.1 and a free port that records what it receives. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const reply = options.reply ?? (() => 200)
  const requests: ReceivedRequest[] = []
  const accepted: ReceivedRequest[] = []
  const sockets = new Set<Socket>()
  const connectionIndex = new WeakMap<Socket, number>()
  const timers = new Set<NodeJS.Timeout>()
  let waiters: Array<() => void> = []

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const socket = req.socket as Socket & { getPeerCertificate?: () => { subject?: { CN?: string } } }
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        connection: connectionIndex.get(socket) ?? -1,
      }
      const cn = socket.getPeerCertificate?.()?.subject?.CN
      if (cn !== undefined) received.peerCommonName = cn
      const index = requests.length
      requests.push(received)
      const answer = reply(received, index)
      const spec = typeof answer === 'number' ? { status: answer } : answer
      if ('hang' in spec && spec.hang) return
      if ('dripMs' in spec && spec.dripMs !== undefined) {
        res.writeHead(spec.status, spec.headers)
        const drip = setInterval(() => res.write(' '), spec.dripMs)
        timers.add(drip)
        res.on('close', () => {
          clearInterval(drip)
          timers.delete(drip)
        })
        return
      }
      const send = () => {
        timers.delete(timer)
        if (res.destroyed) return
        res.writeHead(spec.status, spec.headers)
        res.end(spec.body ?? '')
        if (spec.status >= 200 && spec.status < 300) {
          accepted.push(received)
          for (const wake of waiters) wake()
        }
      }
      const timer = setTimeout(send, spec.delayMs ?? 0)
      timers.add(timer)
    })
  }

  const server = options.tls ? createHttpsServer(options.tls, onRequest) : createServer(onRequest)
  let connectionCount = 0
  const onConnection = (socket: Socket) => {
    connectionIndex.set(socket, connectionCount++)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  server.on(options.tls ? 'secureConnection' : 'connection', onConnection)
  // Count TLS connections that fail their handshake too: their sockets must still be closed at the end.
  if (options.tls)
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
  server.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const scheme = options.tls ? 'https' : 'http'

  return {
    url: `${scheme}://127.0.0.1:${port}/hook`,
    port,
    requests,
    accepted,
    connections: () => connectionCount,
    acceptedBodies: () => accepted.map((r) => JSON.parse(r.body) as unknown),
    waitForAccepted(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (accepted.length < count) return false
          clearTimeout(timer)
          waiters = waiters.filter((w) => w !== wake)
          resolve(accepted.slice(0, count))
          return true
        }
        const wake = () => void check()
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake)
          reject(
            new Error(`receiver: ${accepted.length} of ${count} requests accepted after ${timeoutMs} ms`),
          )
        }, timeoutMs)
        if (!check()) waiters.push(wake)
      })
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}
