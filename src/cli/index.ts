#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { closestName } from '../did-you-mean.ts'
import { EXIT, UsageError } from './args.ts'
import { say, warn } from './log.ts'

const USAGE = `Usage: mqtt-webhook <command> [options]

NanoMQ-style webhooks for any MQTT broker.

Commands:
  broker     an aedes MQTT broker with the webhook attached
  proxy      an MQTT proxy in front of any broker, firing the webhook
  receive    a webhook endpoint for development that prints what it receives
  queue      what waits in a SQLite queue store, and its dead letters
  replay     sends a SQLite queue store's dead letters again

Run 'mqtt-webhook <command> --help' for a command's options. Every option can also come
from an MQTT_WEBHOOK_* environment variable (--config from MQTT_WEBHOOK_CONFIG...).`

/** Each command is loaded only when asked for: `receive` must not need aedes. */
const COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  broker: async () => (await import('./broker.ts')).runBroker,
  proxy: async () => (await import('./proxy.ts')).runProxy,
  receive: async () => (await import('./receive.ts')).runReceive,
  queue: async () => (await import('./queue.ts')).runQueue,
  replay: async () => (await import('./replay.ts')).runReplay,
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (name === '--help' || name === '-h' || name === 'help') return say(USAGE)
  // No command is a usage error, as git's and npm's: a script that forgot its argument should fail.
  if (name === undefined) throw new UsageError('a command is needed', USAGE)
  if (name === '--version' || name === '-v') return say(version())
  const load = COMMANDS[name]
  if (!load) {
    const suggestion = closestName(name, Object.keys(COMMANDS))
    const hint = suggestion ? `: did you mean ${suggestion}?` : ''
    throw new UsageError(
      `unknown command '${name}'${hint} (commands: ${Object.keys(COMMANDS).join(', ')})`,
      USAGE,
    )
  }
  const run = await load()
  await run(rest)
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const usage = error instanceof UsageError
  warn(usage ? error.message : ((error as Error).message ?? String(error)))
  if (usage && error.usage !== undefined) process.stderr.write(`\n${error.usage}\n`)
  process.exit(usage ? EXIT.usage : EXIT.failure)
})
