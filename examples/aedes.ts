/**
 * Webhooks for an existing aedes broker: create the webhook, attach it, done.
 * Run: WEBHOOK_URL=http://127.0.0.1:8080/hook PORT=1883 npx tsx examples/aedes.ts
 */
import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import { attachAedes, createWebhook } from '../src/index.ts'

const broker = await Aedes.createBroker()
const webhook = createWebhook({
  url: process.env.WEBHOOK_URL ?? 'http://127.0.0.1:8080/hook',
  events: [
    { event: 'on_client_connected' },
    { event: 'on_client_disconnected' },
    { event: 'on_message_publish' },
  ],
})
const detach = attachAedes(broker, webhook)

const server = createServer(broker.handle).listen(Number(process.env.PORT ?? 1883), '127.0.0.1', () => {
  console.log(`aedes listening on mqtt://127.0.0.1:${(server.address() as { port: number }).port}`)
})

async function shutdown() {
  server.close()
  detach()
  await new Promise<void>((resolve) => broker.close(() => resolve()))
  await webhook.close({ timeout_ms: 5000 })
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
