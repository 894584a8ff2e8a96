import { DEFAULT_PACKET_BUDGET, MQTT_MAX_PACKET_SIZE, PacketBudget } from '../adapters/packets/budget.ts'
import { startProxy } from '../proxy.ts'
import { createWebhook } from '../webhook.ts'
import { parseFlags, parseHostPort, parsePositive, readConfigFlag, UsageError } from './args.ts'
import { describeWebhook } from './broker.ts'
import { formatHost } from './listen.ts'
import { cliLogger, say } from './log.ts'
import { stopOnSignal } from './shutdown.ts'
import { formatStats, startStatus } from './status.ts'

export const PROXY_USAGE = `Usage: mqtt-webhook proxy --listen HOST:PORT --upstream HOST:PORT --config FILE [options]

An MQTT proxy in front of any broker (mosquitto, EMQX, HiveMQ...): clients connect to
--listen, their bytes go to --upstream untouched, and the webhook of FILE fires from
what goes by. Ctrl-C drains the webhook queue, then exits 0.

Options:
  --listen HOST:PORT       where clients connect (e.g. 127.0.0.1:1884; port 0 picks one)
  --upstream HOST:PORT     the broker (e.g. 127.0.0.1:1883)
  --config FILE            webhook configuration (required)
  --status-interval SEC    seconds between status lines (default 5)
  --drain-timeout MS       longest wait for the queue at exit (default 10000)
  --max-packet-size BYTES  largest packet parsed for events (default 1048576); a larger one
                           stops the observation of its connection, its bytes still pass
  --verbose                debug lines from the webhook and the proxy
  -h, --help               this help`

/** `mqtt-webhook proxy ...` */
export async function runProxy(argv: string[]): Promise<void> {
  const flags = parseFlags('proxy', argv, {
    listen: { type: 'string' },
    upstream: { type: 'string' },
    config: { type: 'string' },
    'status-interval': { type: 'string', default: '5' },
    'drain-timeout': { type: 'string', default: '10000' },
    'max-packet-size': { type: 'string', default: '1048576' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  })
  if (flags.help) return say(PROXY_USAGE)
  if (flags.listen === undefined)
    throw new UsageError('proxy needs --listen HOST:PORT (see mqtt-webhook proxy --help)')
  if (flags.upstream === undefined)
    throw new UsageError('proxy needs --upstream HOST:PORT (see mqtt-webhook proxy --help)')
  const listen = parseHostPort('--listen', flags.listen)
  const upstream = parseHostPort('--upstream', flags.upstream)
  const intervalSeconds = parsePositive('--status-interval', flags['status-interval'])
  const drainTimeout = parsePositive('--drain-timeout', flags['drain-timeout'])
  const maxPacketSize = parsePacketSize(flags['max-packet-size'])
  const config = readConfigFlag(flags.config, 'proxy')

  const logger = cliLogger(flags.verbose)
  const webhook = createWebhook(config, { logger })
  let proxy: Awaited<ReturnType<typeof startProxy>>
  try {
    // The command's proxy is the process's only stream: its budget holds at least one packet of that size.
    const packetBudget = new PacketBudget(Math.max(DEFAULT_PACKET_BUDGET, maxPacketSize))
    proxy = await startProxy({ listen, upstream, webhook, logger, maxPacketSize, packetBudget })
  } catch (error) {
    await webhook.close({ timeout_ms: 0 })
    throw error
  }
  // Ready for signals before saying so: whoever reads the line may signal at once.
  const status = startStatus(webhook, { intervalSeconds })
  stopOnSignal(async () => {
    status.stop()
    say(`stopping: draining the webhook queue (at most ${drainTimeout} ms)`)
    await proxy.close()
    await webhook.close({ timeout_ms: drainTimeout })
    say(`stopped  ${formatStats(webhook.stats())}`)
  })
  const { host, port } = proxy.address
  say(
    `mqtt-webhook proxy listening on mqtt://${formatHost(host)}:${port}, relaying to ${formatHost(upstream.host)}:${upstream.port}`,
  )
  say(describeWebhook(config))
}

/** `--max-packet-size`: whole bytes, up to what MQTT can send. */
function parsePacketSize(value: string): number {
  const size = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(size >= 1 && size <= MQTT_MAX_PACKET_SIZE))
    throw new UsageError(
      `--max-packet-size must be a whole number of bytes from 1 to ${MQTT_MAX_PACKET_SIZE}, got '${value}'`,
    )
  return size
}
