#!/usr/bin/env node
import { readFileSync } from 'node:fs'
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

Run 'mqtt-webhook <command> --help' for a command's options.`

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
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return say(USAGE)
  if (name === '--version' || name === '-v') return say(version())
  const load = COMMANDS[name]
  if (!load) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`)
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
  process.exit(usage ? EXIT.usage : EXIT.failure)
})
