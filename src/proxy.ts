import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { type PacketBudget, resolvePacketLimits } from './adapters/packets/budget.ts'
import { MessageOrigins } from './adapters/packets/origins.ts'
import { ClientSessions } from './adapters/packets/sessions.ts'
import { tapConnection } from './adapters/packets/stream.ts'
import { RateLimitedWarner } from './rate-limited-warner.ts'
import { redact } from './security/redact.ts'
import type { Logger, Webhook } from './webhook-types.ts'

/** A TCP address. */
export interface ProxyAddress {
  /** A host name or an IP address (IPv6 without brackets). */
  host: string
  /** A TCP port; 0 in `listen` picks a free one. */
  port: number
}

/** What `startProxy` takes. */
export interface ProxyOptions {
  /** Where MQTT clients connect; port 0 picks a free one (see `address`). */
  listen: ProxyAddress
  /** The broker every client is relayed to. */
  upstream: ProxyAddress
  /** Fired from the relayed traffic. When it wants no event, the proxy does not parse at all. */
  webhook: Webhook
  /**
   * Connection errors go to `warn`, the same one repeated (an upstream that refuses every client) as one line
   * then one summary per 10 s; routine client drops go to `debug`.
   * @default warnings to stderr, nothing else
   */
  logger?: Logger
  /**
   * Largest packet, in bytes (fixed header included), parsed for events; past it the connection stops being
   * observed (reported once, `ERR_MQTT_PACKET_TOO_LARGE`) and its bytes still pass.
   * @default 1048576 (1 MiB)
   */
  maxPacketSize?: number
  /**
   * Bytes that packets still arriving may hold across all connections; past it a connection whose packet
   * does not fit stops being observed (reported once, `ERR_MQTT_PACKET_BUDGET`).
   * @default the process-wide budget, `processPacketBudget` (64 MiB)
   */
  packetBudget?: PacketBudget
}

/** A proxy that `startProxy` started. */
export interface RunningProxy {
  /** The address it listens on, with the port actually bound. */
  address: ProxyAddress
  /** Stops listening, closes every relayed connection and resolves once all is closed. */
  close(): Promise<void>
}

/** The default logger: quiet, one line per warning, never a stack. */
const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn(obj, msg) {
    console.error(`mqtt-webhook proxy: ${msg ?? ''} ${JSON.stringify(obj)}`)
  },
  error(obj, msg) {
    console.error(`mqtt-webhook proxy: ${msg ?? ''} ${JSON.stringify(obj)}`)
  },
}

/**
 * An MQTT proxy that gives webhooks to any broker: relays each client's bytes to `upstream` untouched and
 * fires the webhook from what goes by in both directions.
 *
 * What the wire cannot tell, the proxy does not invent: a will fires no `on_message_publish` (only the
 * broker knows whether it sent it), and a delivery names its publisher only when that client's publish (or
 * will) of the same topic and payload went through this proxy recently; otherwise `from_client_id` is `null`.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  resolvePacketLimits(options) // throws on bad sizes now, not at the first client
  const logger = options.logger ?? consoleLogger
  const warner = new RateLimitedWarner({ logger })
  const connections = new Set<Socket>()
  // Every client's publishes pass here, so deliveries can name their publisher.
  const origins = new MessageOrigins()
  // One client id's connections affect each other (takeovers, sessions resumed or discarded).
  const sessions = new ClientSessions()
  const server: Server = createServer({ noDelay: true }, (client) => {
    relay(client, { ...options, logger, origins, warner, sessions }, connections)
  })
  server.on('error', (error) => logger.warn({ error: redact(error.message) }, 'listener error'))
  server.listen(options.listen.port, options.listen.host)
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error
    }),
  ])
  const bound = server.address() as AddressInfo
  return {
    address: { host: bound.address, port: bound.port },
    async close() {
      const closed = once(server, 'close')
      server.close()
      for (const socket of connections) socket.destroy()
      await closed
      warner.close()
      sessions.clear()
    },
  }
}

/** One client: connect it to the upstream, pipe both ways, observe both ways, end both together. */
function relay(
  client: Socket,
  options: ProxyOptions & {
    logger: Logger
    origins: MessageOrigins
    warner: RateLimitedWarner
    sessions: ClientSessions
  },
  connections: Set<Socket>,
): void {
  const { logger } = options
  const remote = `${client.remoteAddress}:${client.remotePort}`
  const upstream = connect({ host: options.upstream.host, port: options.upstream.port, noDelay: true })
  connections.add(client)
  connections.add(upstream)
  const taps = tapConnection(
    options.webhook,
    {
      remoteAddress: client.remoteAddress,
      maxPacketSize: options.maxPacketSize,
      packetBudget: options.packetBudget,
    },
    options.origins,
    options.sessions,
  )
  if (taps !== null) {
    client.on('data', (chunk: Buffer) => taps.inbound.push(chunk))
    upstream.on('data', (chunk: Buffer) => taps.outbound.push(chunk))
  }
  client.pipe(upstream)
  upstream.pipe(client)

  let reported = false
  let upstreamConnected = false
  upstream.once('connect', () => {
    upstreamConnected = true
  })
  const fail = (side: 'client' | 'upstream') => (error: Error & { code?: string }) => {
    if (!reported) {
      reported = true
      const line = { client: remote, side, code: error.code, error: redact(error.message) }
      // A client vanishing mid-connection is routine for MQTT (mobile links, kill -9): not worth a warning.
      if (side === 'client' && isRoutineDrop(error.code)) logger.debug(line, 'connection error')
      else options.warner.warn(...aggregated(line, side === 'upstream' && !upstreamConnected))
    }
    client.destroy()
    upstream.destroy()
  }
  client.on('error', fail('client'))
  upstream.on('error', fail('upstream'))
  // Whichever side goes away takes the other with it.
  client.on('close', () => {
    connections.delete(client)
    upstream.destroy()
    taps?.close()
  })
  upstream.on('close', () => {
    connections.delete(upstream)
    client.destroy()
  })
}

/**
 * The same failure for many clients is one warning, then a summary per interval: while the upstream is
 * down, every client that connects fails the same way, and a line each would bury everything else.
 */
function aggregated(
  line: { client: string; side: 'client' | 'upstream'; code: string | undefined; error: string },
  unreachable: boolean,
): Parameters<RateLimitedWarner['warn']> {
  const { side, code } = line
  const what = code ?? 'error'
  if (unreachable) {
    const verb = code === 'ECONNREFUSED' ? 'refused' : code === 'ETIMEDOUT' ? 'timed out' : `failed (${what})`
    return [
      `unreachable:${what}`,
      line,
      'connection error',
      {
        obj: { side, code },
        msg: (count, seconds) =>
          `upstream unreachable: ${count} connections ${verb} in the last ${seconds} s`,
      },
    ]
  }
  return [
    `${side}:${what}`,
    line,
    'connection error',
    {
      obj: { side, code },
      msg: (count, seconds) =>
        `connection errors: ${count} on the ${side} side (${what}) in the last ${seconds} s`,
    },
  ]
}

function isRoutineDrop(code: string | undefined): boolean {
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT'
}
