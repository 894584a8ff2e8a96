import { createHmac, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import baseX from 'base-x'
import type { PayloadEncoding } from '../config-types.ts'
import { BASE62_ALPHABET } from '../encoding/base62.ts'
import { parseFlags, parsePort, UsageError } from './args.ts'
import { formatHost, whenListening } from './listen.ts'
import { say } from './log.ts'
import { stopOnSignal } from './shutdown.ts'

export const RECEIVE_USAGE = `Usage: mqtt-webhook receive [options]

A webhook endpoint for development: prints each request (event, client, topic, decoded
payload) and checks its Standard Webhooks signature when given the secret.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              HTTP port (default 8080; 0 picks a free port)
  --secret whsec_...       check signatures with this secret (repeat for several)
  --encoding ENC           how payloads are encoded: plain, base64 or base62 (default plain)
  --raw                    also print each body exactly as received
  -h, --help               this help`

/** How far a `webhook-timestamp` may be from now, as the standardwebhooks libraries allow. */
const TOLERANCE_SECONDS = 5 * 60
const base62 = baseX(BASE62_ALPHABET)

export interface ReceiverOptions {
  /** @default '127.0.0.1' */
  host?: string
  /** @default 8080 */
  port?: number
  /** `whsec_...` secrets; with any, a request whose signature matches none is answered 401 and flagged. */
  secrets?: string[]
  /** @default 'plain' */
  encoding?: PayloadEncoding
  /** Also print each body as received. */
  raw?: boolean
  /**
   * Receives each printed line.
   * @default a line on stdout
   */
  print?: (line: string) => void
}

export interface RunningReceiver {
  /** `http://HOST:PORT/`; any path is accepted. */
  url: string
  port: number
  close(): Promise<void>
}

/** The endpoint `mqtt-webhook receive` runs (also used by `npm start`). */
export async function startReceiver(options: ReceiverOptions = {}): Promise<RunningReceiver> {
  const host = options.host ?? '127.0.0.1'
  const keys = (options.secrets ?? []).map(decodeSecret)
  const print = options.print ?? say
  const encoding = options.encoding ?? 'plain'
  const sockets = new Set<Socket>()
  const server = createServer((request, response) => {
    readBody(request).then(
      (body) => answer(request, response, body),
      () => response.destroy(),
    )
  })
  const answer = (request: IncomingMessage, response: ServerResponse, body: string) => {
    const signature =
      keys.length > 0 ? checkSignature(keys, request.headers, body) : unchecked(request.headers)
    // A batch (config `batch`) is one request carrying an array: one line per event in it.
    for (const line of describeBodies(body, encoding)) print(`${line}  ${signature.label}`)
    if (options.raw) print(`  ${body}`)
    response.writeHead(signature.ok ? 200 : 401, { 'content-type': 'text/plain' })
    response.end(signature.ok ? 'ok\n' : 'bad signature\n')
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(options.port ?? 8080, host)
  await whenListening(server, host, options.port ?? 8080)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${formatHost(host)}:${port}/`,
    port,
    async close() {
      const closed = once(server, 'close')
      server.close()
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

/** `mqtt-webhook receive ...` */
export async function runReceive(argv: string[]): Promise<void> {
  const flags = parseFlags('receive', argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    secret: { type: 'string', multiple: true, default: [] },
    encoding: { type: 'string', default: 'plain' },
    raw: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  })
  if (flags.help) return say(RECEIVE_USAGE)
  const encoding = flags.encoding.toLowerCase()
  if (encoding !== 'plain' && encoding !== 'base64' && encoding !== 'base62')
    throw new UsageError(`--encoding must be plain, base64 or base62, got '${flags.encoding}'`)
  for (const secret of flags.secret) decodeSecret(secret)
  const receiver = await startReceiver({
    host: flags.host,
    port: parsePort('--port', flags.port),
    secrets: flags.secret,
    encoding,
    raw: flags.raw,
  })
  stopOnSignal(() => receiver.close())
  const checking = flags.secret.length > 0 ? ', checking signatures' : ''
  say(`mqtt-webhook receive listening on ${receiver.url}${checking}`)
}

/**
 * `message_publish  client=c1  user=u1  topic=a/b  qos=1  retain=false  payload="hello"`: the fields a
 * person looks for first; a body that is not JSON is shown as it came.
 */
export function describeBody(body: string, encoding: PayloadEncoding): string {
  return describeBodies(body, encoding).join('\n')
}

/** One line per event: the body's, or each element's when the body is a batch (a JSON array). */
export function describeBodies(body: string, encoding: PayloadEncoding): string[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return [`(not JSON) ${JSON.stringify(body.slice(0, 200))}`]
  }
  const events = Array.isArray(parsed) ? parsed : [parsed]
  return events.map((event) => describeEvent(event as Record<string, unknown>, encoding))
}

function describeEvent(parsed: Record<string, unknown>, encoding: PayloadEncoding): string {
  if (typeof parsed !== 'object' || parsed === null) return `(not an event) ${JSON.stringify(parsed)}`
  const parts = [String(parsed.action ?? '(no action)')]
  const client = parsed.clientid ?? parsed.from_client_id
  const user = parsed.username ?? parsed.from_username
  if (client !== undefined) parts.push(`client=${client}`)
  if (user !== undefined) parts.push(`user=${user}`)
  for (const key of ['topic', 'qos', 'retain', 'conn_ack', 'reason', 'ipaddress'] as const)
    if (parsed[key] !== undefined) parts.push(`${key}=${String(parsed[key])}`)
  if (typeof parsed.payload === 'string') parts.push(`payload=${decodePayload(parsed.payload, encoding)}`)
  return parts.join('  ')
}

/** The payload as text when it is text, else as hex. */
function decodePayload(payload: string, encoding: PayloadEncoding): string {
  if (encoding === 'plain') return JSON.stringify(payload)
  let bytes: Uint8Array
  try {
    bytes = encoding === 'base64' ? Buffer.from(payload, 'base64') : base62.decode(payload)
  } catch {
    return `${JSON.stringify(payload)} (not ${encoding})`
  }
  const text = Buffer.from(bytes).toString('utf8')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what marks binary data
  const binary = text.includes('\uFFFD') || /[\u0000-\u0008\u000e-\u001f]/.test(text)
  return binary ? `<${bytes.length} bytes: ${Buffer.from(bytes).toString('hex')}>` : JSON.stringify(text)
}

interface SignatureCheck {
  ok: boolean
  label: string
}

function unchecked(headers: IncomingHttpHeaders): SignatureCheck {
  const signed = headers['webhook-signature'] !== undefined
  return { ok: true, label: signed ? '[signed, not checked: no --secret]' : '[unsigned]' }
}

/** Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), any of several. */
export function checkSignature(keys: Buffer[], headers: IncomingHttpHeaders, body: string): SignatureCheck {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return { ok: false, label: '[SIGNATURE MISSING]' }
  const seconds = Number(timestamp)
  if (!Number.isInteger(seconds) || Math.abs(Date.now() / 1000 - seconds) > TOLERANCE_SECONDS)
    return { ok: false, label: '[SIGNATURE INVALID: timestamp too old or too new]' }
  const offered = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'))
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest()
    if (
      offered.some(
        (candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected),
      )
    )
      return { ok: true, label: '[signature ok]' }
  }
  return { ok: false, label: '[SIGNATURE INVALID: no signature matches]' }
}

function decodeSecret(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret
  const key = Buffer.from(encoded, 'base64')
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, ''))
    throw new UsageError('--secret must be whsec_ followed by base64 (as the webhook config has it)')
  return key
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}
