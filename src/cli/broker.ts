import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import type { Aedes } from 'aedes'
import type { WebSocketServer } from 'ws'
import { attachAedes } from '../adapters/aedes/index.ts'
import type { WebhookConfig } from '../config-types.ts'
import { createWebhook } from '../webhook.ts'
import type { Logger, Webhook } from '../webhook-types.ts'
import {
  type CommandSpec,
  type FlagSpec,
  formatHost,
  parseCommand,
  parsePort,
  UsageError,
  usage,
} from './args.ts'
import { say } from './log.ts'
import { listen, readServiceFlags, runService, SERVICE_FLAGS } from './service.ts'

export const BROKER: CommandSpec = {
  name: 'broker',
  synopsis: '--config FILE [options]',
  description: `An aedes MQTT broker with the webhook of FILE attached (a nanomq.conf webhook block,
legacy web.hook.* lines, or JSON). SIGINT, SIGTERM or SIGHUP drains the webhook queue, then
exits 0 (3 if any event was dropped).`,
  flags: {
    config: SERVICE_FLAGS.config as FlagSpec,
    host: { type: 'string', value: 'HOST', default: '127.0.0.1', help: 'address to listen on' },
    port: { type: 'string', value: 'PORT', default: '1883', help: 'MQTT over TCP; 0 picks a free port' },
    'ws-port': { type: 'string', value: 'PORT', help: 'also MQTT over WebSocket on this port (needs ws)' },
    ...SERVICE_FLAGS,
  },
}

export interface BrokerOptions {
  /** The webhook's configuration, as `loadConfig` returns it. */
  config: WebhookConfig
  /**
   * Address to listen on.
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * MQTT over TCP; 0 picks a free port.
   * @default 1883
   */
  port?: number
  /** Also MQTT over WebSocket on this port (0 picks a free one). */
  wsPort?: number
  /** The webhook's logger. */
  logger?: Logger
  /** A webhook made already (from `config`); by default one is made here, with `logger`. */
  webhook?: Webhook
}

export interface RunningBroker {
  broker: Aedes
  webhook: Webhook
  /** `mqtt://HOST:PORT`, with the port actually bound. */
  url: string
  port: number
  /** `ws://HOST:PORT`, when WebSocket was asked for. */
  wsUrl?: string
  /**
   * Stops listening, disconnects every client (their events still fire), then drains the webhook for at most
   * `drainTimeoutMs`; what is still queued then is reported dropped (`closed`).
   */
  close(drainTimeoutMs?: number): Promise<void>
}

/** An aedes broker on TCP (and WebSocket when asked) with a webhook attached: what `mqtt-webhook broker` runs. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const host = options.host ?? '127.0.0.1'
  const webhook =
    options.webhook ?? createWebhook(options.config, options.logger ? { logger: options.logger } : {})
  const { Aedes } = await importAedes()
  const broker = await Aedes.createBroker()
  const detach = attachAedes(broker, webhook)
  const sockets = new Set<Socket>()
  const tcp = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(socket)
  })
  let ws: WebSocketServer | undefined
  const closeAll = async (drainTimeoutMs: number) => {
    const tcpClosed = tcp.listening ? once(tcp, 'close') : Promise.resolve()
    tcp.close()
    ws?.close()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    await tcpClosed
    await webhook.close({ timeout_ms: drainTimeoutMs })
    detach()
  }
  try {
    const port = await listenTcp(tcp, host, options.port ?? 1883)
    const running: RunningBroker = {
      broker,
      webhook,
      url: `mqtt://${formatHost(host)}:${port}`,
      port,
      close: (drainTimeoutMs = 10_000) => closeAll(drainTimeoutMs),
    }
    if (options.wsPort !== undefined) {
      ws = await listenWebSocket(broker, host, options.wsPort)
      running.wsUrl = `ws://${formatHost(host)}:${(ws.address() as AddressInfo).port}`
    }
    return running
  } catch (error) {
    await closeAll(0)
    throw error
  }
}

/** `mqtt-webhook broker ...` */
export async function runBroker(argv: string[]): Promise<void> {
  const { help, values } = parseCommand(BROKER, argv)
  if (help) return say(usage(BROKER))
  const port = parsePort('--port', String(values.port))
  const wsPort =
    values['ws-port'] === undefined ? undefined : parsePort('--ws-port', String(values['ws-port']))
  const settings = readServiceFlags(BROKER, values)
  const host = String(values.host)
  await runService(settings, async (webhook) => {
    const running = await startBroker({ config: settings.config, host, port, wsPort, webhook })
    const urls = running.wsUrl ? `${running.url} and ${running.wsUrl}` : running.url
    return {
      close: (drainTimeoutMs) => running.close(drainTimeoutMs),
      listening: {
        message: `mqtt-webhook broker listening on ${urls}`,
        fields: { url: running.url, ws_url: running.wsUrl },
      },
    }
  })
}

async function importAedes(): Promise<typeof import('aedes')> {
  try {
    return await import('aedes')
  } catch {
    throw new UsageError('the broker command needs aedes: npm install aedes')
  }
}

async function listenTcp(server: Server, host: string, port: number): Promise<number> {
  await listen(server, host, port)
  return (server.address() as AddressInfo).port
}

async function listenWebSocket(broker: Aedes, host: string, port: number): Promise<WebSocketServer> {
  const { WebSocketServer, createWebSocketStream } = await import('ws').catch(() => {
    throw new UsageError('--ws-port needs ws: npm install ws')
  })
  const server = new WebSocketServer({ host, port })
  server.on('connection', (socket) => broker.handle(createWebSocketStream(socket)))
  try {
    await once(server, 'listening')
  } catch (error) {
    throw new Error(`cannot listen on ${formatHost(host)}:${port} (${(error as NodeJS.ErrnoException).code})`)
  }
  return server
}
