/**
 * A webhook endpoint that accepts only requests signed with your secret (Standard Webhooks), the way
 * your own service would check what mqtt-webhook sends when the config has `secret = "whsec_..."`.
 *
 *   WEBHOOK_SECRET=whsec_... PORT=8080 npx tsx examples/verify-signatures.ts
 *
 * It uses the `standardwebhooks` package (npm install standardwebhooks); `docs/security.md` shows the
 * same check with node:crypto alone.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

const secret = process.env.WEBHOOK_SECRET
if (!secret) {
  console.error('set WEBHOOK_SECRET to the whsec_... secret of the webhook config')
  process.exit(2)
}
const verifier = new Webhook(secret)

const server = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    // Verify the raw bytes: parsing and re-serializing the JSON first would change them.
    const body = Buffer.concat(chunks).toString('utf8')
    try {
      const event = verifier.verify(body, {
        'webhook-id': String(request.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
      }) as { action?: string; clientid?: string; from_client_id?: string }
      console.log(
        `verified ${event.action} from ${event.clientid ?? event.from_client_id} (${request.headers['webhook-id']})`,
      )
      response.writeHead(204).end()
    } catch (error) {
      console.log(`rejected: ${(error as Error).message}`)
      response.writeHead(401).end()
    }
  })
})

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`verifying webhooks on http://127.0.0.1:${port}/`)
})
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => server.close(() => process.exit(0)))
