import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { MessageOrigins } from './adapters/packets/origins.ts'
import { ClientSessions } from './adapters/packets/sessions.ts'
import { tapConnection } from './adapters/packets/stream.ts'
import type { Logger, Webhook } from './webhook-types.ts'

export interface ProxyAddress {
  host: string
  port: number
}

export interface ProxyOptions {
  /** Where MQTT clients connect; port 0 picks a free one (see `address`). */
  listen: ProxyAddress
  /** The broker every client is relayed to. */
  upstream: ProxyAddress
  /** Fired from the relayed traffic. When it wants no event, the proxy does not parse at all. */
  webhook: Webhook
  /**
   * One line per connection error goes to `warn`; the rest to `debug`.
   * @default warnings to stderr, nothing else
   */
  logger?: Logger
  /**
   * Largest packet buffered for parsing; a larger one stops the observation of its connection (reported).
   * @default 268435455 (MQTT's own limit)
   */
  maxPacketSize?: number
}

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
  const logger = options.logger ?? consoleLogger
  const connections = new Set<Socket>()
  // Every client's publishes pass here, so deliveries can name their publisher.
  const origins = new MessageOrigins()
  // One client id's connections affect each other (takeovers, sessions resumed or discarded).
  const sessions = new ClientSessions()
  const server: Server = createServer({ noDelay: true }, (client) => {
    relay(client, { ...options, logger, origins, sessions }, connections)
  })
  server.on('error', (error) => logger.warn({ error: error.message }, 'listener error'))
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
      sessions.clear()
    },
  }
}

/** One client: connect it to the upstream, pipe both ways, observe both ways, end both together. */
function relay(
  client: Socket,
  options: ProxyOptions & { logger: Logger; origins: MessageOrigins; sessions: ClientSessions },
  connections: Set<Socket>,
): void {
  const { logger } = options
  const remote = `${client.remoteAddress}:${client.remotePort}`
  const upstream = connect({ host: options.upstream.host, port: options.upstream.port, noDelay: true })
  connections.add(client)
  connections.add(upstream)
  const taps = tapConnection(
    options.webhook,
    { remoteAddress: client.remoteAddress, maxPacketSize: options.maxPacketSize },
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
  const fail = (side: 'client' | 'upstream') => (error: Error & { code?: string }) => {
    if (!reported) {
      reported = true
      const line = { client: remote, side, code: error.code, error: error.message }
      // A client vanishing mid-connection is routine for MQTT (mobile links, kill -9): not worth a warning.
      if (side === 'client' && isRoutineDrop(error.code)) logger.debug(line, 'connection error')
      else logger.warn(line, 'connection error')
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
    taps?.observer.close()
  })
  upstream.on('close', () => {
    connections.delete(upstream)
    client.destroy()
  })
}

function isRoutineDrop(code: string | undefined): boolean {
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT'
}
