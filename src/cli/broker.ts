import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import type { Aedes } from 'aedes'
import type { WebSocketServer } from 'ws'
import { attachAedes } from '../adapters/aedes/index.ts'
import type { WebhookConfig } from '../config-types.ts'
import type { BrokerSettings, ListenAddress } from '../load-config/broker-settings.ts'
import { redactUrl } from '../security/redact.ts'
import { createWebhook } from '../webhook.ts'
import type { Logger, Webhook } from '../webhook-types.ts'
import { parseFlags, parsePort, parsePositive, readConfigFlag, UsageError } from './args.ts'
import {
  applyAuth,
  chooseListeners,
  describeFileSettings,
  readBrokerFile,
  startFileListeners,
} from './broker-config.ts'
import { formatHost, whenListening } from './listen.ts'
import { cliLogger, say } from './log.ts'
import { stopOnSignal } from './shutdown.ts'
import { formatStats, startStatus } from './status.ts'

export const BROKER_USAGE = `Usage: mqtt-webhook broker --config FILE [options]

An aedes MQTT broker with the webhook of FILE attached (a nanomq.conf webhook block,
legacy web.hook.* lines, or JSON). From a nanomq.conf it also takes the listeners
(listeners.tcp/ws/ssl, or url = "nmq-tcp://...") and auth (allow_anonymous, passwords);
the flags below override the file. Ctrl-C drains the webhook queue, then exits 0.

Options:
  --config FILE            webhook configuration (required)
  --host HOST              address to listen on (default: the file's, else 127.0.0.1)
  --port PORT              MQTT over TCP (default: the file's, else 1883; 0 picks a free port)
  --ws-port PORT           also MQTT over WebSocket on this port (default: the file's listeners.ws)
  --status-interval SEC    seconds between status lines (default 5)
  --drain-timeout MS       longest wait for the queue at exit (default 10000)
  --verbose                debug lines from the webhook
  -h, --help               this help`

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
  const webhook = createWebhook(options.config, options.logger ? { logger: options.logger } : {})
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
    const port = await listen(tcp, host, options.port ?? 1883)
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
  const flags = parseFlags('broker', argv, {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'ws-port': { type: 'string' },
    'status-interval': { type: 'string', default: '5' },
    'drain-timeout': { type: 'string', default: '10000' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  })
  if (flags.help) return say(BROKER_USAGE)
  const port = flags.port === undefined ? undefined : parsePort('--port', flags.port)
  const wsPort = flags['ws-port'] === undefined ? undefined : parsePort('--ws-port', flags['ws-port'])
  const intervalSeconds = parsePositive('--status-interval', flags['status-interval'])
  const drainTimeout = parsePositive('--drain-timeout', flags['drain-timeout'])
  const config = readConfigFlag(flags.config, 'broker')
  const settings = readBrokerFile(flags.config as string)
  const listeners = chooseListeners(settings, {
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(port === undefined ? {} : { port }),
    ...(wsPort === undefined ? {} : { wsPort }),
  })

  const running = await startBroker({
    config,
    host: listeners.host,
    port: listeners.port,
    ...(listeners.ws === undefined
      ? {}
      : { wsPort: listeners.ws.port, ...(listeners.ws.path ? { wsPath: listeners.ws.path } : {}) }),
    ...(settings === undefined ? {} : { file: { settings, extraTcp: listeners.extraTcp } }),
    logger: cliLogger(flags.verbose),
  })
  // Ready for signals before saying so: whoever reads the line may signal at once.
  const status = startStatus(running.webhook, { intervalSeconds })
  stopOnSignal(async () => {
    status.stop()
    say(`stopping: draining the webhook queue (at most ${drainTimeout} ms)`)
    await running.close(drainTimeout)
    say(`stopped  ${formatStats(running.webhook.stats())}`)
  })
  const urls = [running.url, ...(running.wsUrl ? [running.wsUrl] : []), ...running.fileUrls]
  say(`mqtt-webhook broker listening on ${urls.join(' and ')}`)
  say(describeWebhook(config))
  if (settings) for (const line of describeFileSettings(settings, flags.config as string)) say(line)
}

/** `posting on_message_publish, on_client_connack to http://127.0.0.1:8080/hook` (credentials hidden). */
export function describeWebhook(config: WebhookConfig): string {
  if (config.enable === false && config.events?.length === 0)
    return 'webhook off: the file lists no rules (EMQX ships them commented out): nothing will be posted'
  if (config.enable === false) return 'webhook disabled (enable = false): nothing will be posted'
  const events = [...new Set(config.events.map((rule) => rule.event))].join(', ')
  return `posting ${events} to ${redactUrl(config.url)}`
}

async function importAedes(): Promise<typeof import('aedes')> {
  try {
    return await import('aedes')
  } catch {
    throw new UsageError('the broker command needs aedes: npm install aedes')
  }
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  server.listen(port, host)
  await whenListening(server, host, port)
  return (server.address() as AddressInfo).port
}

async function listenWebSocket(
  broker: Aedes,
  host: string,
  port: number,
  path?: string,
): Promise<WebSocketServer> {
  const { WebSocketServer, createWebSocketStream } = await import('ws')
  const server = new WebSocketServer({ host, port, ...(path === undefined ? {} : { path }) })
  server.on('connection', (socket) => broker.handle(createWebSocketStream(socket)))
  await whenListening(server, host, port)
  return server
}
