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
  const settings = readServiceFlags(PROXY, values)
  await runService(settings, async (webhook, logger) => {
    const proxy = await startProxy({ listen, upstream, webhook, logger })
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
