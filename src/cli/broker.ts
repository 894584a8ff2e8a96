import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import type { Aedes } from 'aedes'
import type { WebSocketServer } from 'ws'
import { attachAedes } from '../adapters/aedes/index.ts'
import type { WebhookConfig } from '../config-types.ts'
import type { BrokerSettings, ListenAddress } from '../load-config/broker-settings.ts'
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
import {
  applyAuth,
  chooseListeners,
  describeFileSettings,
  readBrokerFile,
  startFileListeners,
} from './broker-config.ts'
import { say } from './log.ts'
import { listen, readServiceFlags, runService, SERVICE_FLAGS } from './service.ts'

export const BROKER: CommandSpec = {
  name: 'broker',
  synopsis: '--config FILE [options]',
  description: `An aedes MQTT broker with the webhook of FILE attached (a nanomq.conf webhook block,
legacy web.hook.* lines, or JSON). From a nanomq.conf it also takes the listeners
(listeners.tcp/ws/ssl, or url = "nmq-tcp://...") and auth (allow_anonymous, passwords);
the options below override the file. SIGINT, SIGTERM or SIGHUP drains the webhook queue,
then exits 0 (3 if any event was dropped).`,
  flags: {
    config: SERVICE_FLAGS.config as FlagSpec,
    host: {
      type: 'string',
      value: 'HOST',
      help: "address to listen on (default: the file's, else 127.0.0.1)",
    },
    port: {
      type: 'string',
      value: 'PORT',
      help: "MQTT over TCP; 0 picks a free port (default: the file's, else 1883)",
    },
    'ws-port': {
      type: 'string',
      value: 'PORT',
      help: "also MQTT over WebSocket on this port, needs ws (default: the file's listeners.ws)",
    },
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
  /** The WebSocket path to serve (`/mqtt`); any path when absent. */
  wsPath?: string
  /** The rest of a nanomq.conf: who may connect, and the other listeners (more TCP, TLS). */
  file?: { settings: BrokerSettings; extraTcp: ListenAddress[] }
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
  /** The file's other listeners: `mqtt://...` for more TCP ones, `mqtts://...` for TLS. */
  fileUrls: string[]
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
  if (options.file) applyAuth(broker, options.file.settings.auth)
  const sockets = new Set<Socket>()
  let fileServers: Server[] = []
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
    for (const server of fileServers) server.close()
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
      fileUrls: [],
      close: (drainTimeoutMs = 10_000) => closeAll(drainTimeoutMs),
    }
    if (options.wsPort !== undefined) {
      ws = await listenWebSocket(broker, host, options.wsPort, options.wsPath)
      running.wsUrl = `ws://${formatHost(host)}:${(ws.address() as AddressInfo).port}${options.wsPath ?? ''}`
    }
    if (options.file) {
      const started = await startFileListeners(broker, options.file.settings, options.file.extraTcp, sockets)
      fileServers = started.servers
      running.fileUrls = started.urls
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
  const given = (name: string) => (values[name] === undefined ? undefined : String(values[name]))
  const port = given('port') === undefined ? undefined : parsePort('--port', String(given('port')))
  const wsPort = given('ws-port') === undefined ? undefined : parsePort('--ws-port', String(given('ws-port')))
  const host = given('host')
  const service = readServiceFlags(BROKER, values)
  const settings = readBrokerFile(String(values.config))
  const listeners = chooseListeners(settings, {
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(wsPort === undefined ? {} : { wsPort }),
  })
  await runService(service, async (webhook, logger) => {
    const running = await startBroker({
      config: service.config,
      webhook,
      host: listeners.host,
      port: listeners.port,
      ...(listeners.ws === undefined
        ? {}
        : { wsPort: listeners.ws.port, ...(listeners.ws.path ? { wsPath: listeners.ws.path } : {}) }),
      ...(settings === undefined ? {} : { file: { settings, extraTcp: listeners.extraTcp } }),
    })
    if (settings) for (const line of describeFileSettings(settings, String(values.config))) logger.info(line)
    const urls = [running.url, ...(running.wsUrl ? [running.wsUrl] : []), ...running.fileUrls]
    return {
      close: (drainTimeoutMs) => running.close(drainTimeoutMs),
      listening: {
        message: `mqtt-webhook broker listening on ${urls.join(' and ')}`,
        fields: { url: running.url, ws_url: running.wsUrl, file_urls: running.fileUrls },
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

async function listenWebSocket(
  broker: Aedes,
  host: string,
  port: number,
  path?: string,
): Promise<WebSocketServer> {
  const { WebSocketServer, createWebSocketStream } = await import('ws').catch(() => {
    throw new UsageError('--ws-port needs ws: npm install ws')
  })
  const server = new WebSocketServer({ host, port, ...(path === undefined ? {} : { path }) })
  server.on('connection', (socket) => broker.handle(createWebSocketStream(socket)))
  try {
    await once(server, 'listening')
  } catch (error) {
    throw new Error(`cannot listen on ${formatHost(host)}:${port} (${(error as NodeJS.ErrnoException).code})`)
  }
  return server
}
