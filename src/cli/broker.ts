import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import type { Aedes } from 'aedes'
import type { WebSocketServer } from 'ws'
import { attachAedes } from '../adapters/aedes/index.ts'
import type { WebhookConfig } from '../config-types.ts'
import { redactUrl } from '../security/redact.ts'
import { createWebhook } from '../webhook.ts'
import type { Logger, Webhook } from '../webhook-types.ts'
import { parseFlags, parsePort, parsePositive, readConfigFlag, UsageError } from './args.ts'
import { formatHost, whenListening } from './listen.ts'
import { cliLogger, say } from './log.ts'
import { withQueueFlag } from './queue.ts'
import { stopOnSignal } from './shutdown.ts'
import { formatStats, startStatus } from './status.ts'

export const BROKER_USAGE = `Usage: mqtt-webhook broker --config FILE [options]

An aedes MQTT broker with the webhook of FILE attached (a nanomq.conf webhook block,
legacy web.hook.* lines, or JSON). Ctrl-C drains the webhook queue, then exits 0.

Options:
  --config FILE            webhook configuration (required)
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              MQTT over TCP (default 1883; 0 picks a free port)
  --ws-port PORT           also MQTT over WebSocket on this port
  --status-interval SEC    seconds between status lines (default 5)
  --drain-timeout MS       longest wait for the queue at exit (default 10000)
  --queue sqlite:PATH      keep waiting events in a SQLite file, delivered after a crash too
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
    const port = await listen(tcp, host, options.port ?? 1883)
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
  const flags = parseFlags('broker', argv, {
    config: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '1883' },
    'ws-port': { type: 'string' },
    'status-interval': { type: 'string', default: '5' },
    'drain-timeout': { type: 'string', default: '10000' },
    queue: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  })
  if (flags.help) return say(BROKER_USAGE)
  const port = parsePort('--port', flags.port)
  const wsPort = flags['ws-port'] === undefined ? undefined : parsePort('--ws-port', flags['ws-port'])
  const intervalSeconds = parsePositive('--status-interval', flags['status-interval'])
  const drainTimeout = parsePositive('--drain-timeout', flags['drain-timeout'])
  const config = withQueueFlag(readConfigFlag(flags.config, 'broker'), flags.queue)

  const running = await startBroker({
    config,
    host: flags.host,
    port,
    wsPort,
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
  say(`mqtt-webhook broker listening on ${running.url}${running.wsUrl ? ` and ${running.wsUrl}` : ''}`)
  say(describeWebhook(config))
}

/** `posting on_message_publish, on_client_connack to http://127.0.0.1:8080/hook` (credentials hidden). */
export function describeWebhook(config: WebhookConfig): string {
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

async function listenWebSocket(broker: Aedes, host: string, port: number): Promise<WebSocketServer> {
  const { WebSocketServer, createWebSocketStream } = await import('ws')
  const server = new WebSocketServer({ host, port })
  server.on('connection', (socket) => broker.handle(createWebSocketStream(socket)))
  await whenListening(server, host, port)
  return server
}
