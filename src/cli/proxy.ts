import { DEFAULT_PACKET_BUDGET, MQTT_MAX_PACKET_SIZE, PacketBudget } from '../adapters/packets/budget.ts'
import { startProxy } from '../proxy.ts'
import {
  type CommandSpec,
  type FlagSpec,
  formatHost,
  parseCommand,
  parseHostPort,
  UsageError,
  usage,
} from './args.ts'
import { say } from './log.ts'
import { readServiceFlags, runService, SERVICE_FLAGS } from './service.ts'

export const PROXY: CommandSpec = {
  name: 'proxy',
  synopsis: '--listen HOST:PORT --upstream HOST:PORT --config FILE [options]',
  description: `An MQTT proxy in front of any broker (mosquitto, EMQX, HiveMQ...): clients connect to
--listen, their bytes go to --upstream untouched, and the webhook of FILE fires from
what goes by. SIGINT, SIGTERM or SIGHUP drains the webhook queue, then exits 0 (3 if any
event was dropped).`,
  flags: {
    listen: { type: 'string', value: 'HOST:PORT', help: 'where clients connect (port 0 picks one)' },
    upstream: { type: 'string', value: 'HOST:PORT', help: 'the broker, e.g. 127.0.0.1:1883' },
    config: SERVICE_FLAGS.config as FlagSpec,
    'max-packet-size': {
      type: 'string',
      value: 'BYTES',
      default: '1048576',
      help: 'largest packet parsed for events; a larger one stops the observation of its connection, its bytes still pass',
    },
    ...SERVICE_FLAGS,
  },
}

/** `mqtt-webhook proxy ...` */
export async function runProxy(argv: string[]): Promise<void> {
  const { help, values } = parseCommand(PROXY, argv)
  if (help) return say(usage(PROXY))
  for (const flag of ['listen', 'upstream'])
    if (values[flag] === undefined)
      throw new UsageError(`proxy needs --${flag} HOST:PORT (see mqtt-webhook proxy --help)`, usage(PROXY))
  const listen = parseHostPort('--listen', String(values.listen))
  const upstream = parseHostPort('--upstream', String(values.upstream))
  const maxPacketSize = parsePacketSize(String(values['max-packet-size']))
  const settings = readServiceFlags(PROXY, values)
  await runService(settings, async (webhook, logger) => {
    // The command's proxy is the process's only stream: its budget holds at least one packet of that size.
    const packetBudget = new PacketBudget(Math.max(DEFAULT_PACKET_BUDGET, maxPacketSize))
    const proxy = await startProxy({ listen, upstream, webhook, logger, maxPacketSize, packetBudget })
    const { host, port } = proxy.address
    const url = `mqtt://${formatHost(host)}:${port}`
    const relay = `${formatHost(upstream.host)}:${upstream.port}`
    return {
      close: () => proxy.close(),
      listening: {
        message: `mqtt-webhook proxy listening on ${url}, relaying to ${relay}`,
        fields: { url, upstream: relay },
      },
    }
  })
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
