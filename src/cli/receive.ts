import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import baseX from 'base-x'
import { Webhook as SignatureVerifier, WebhookVerificationError } from 'standardwebhooks'
import type { PayloadEncoding } from '../config-types.ts'
import { BASE62_ALPHABET } from '../encoding/base62.ts'
import { type CommandSpec, formatHost, parseCommand, parsePort, UsageError, usage } from './args.ts'
import { say } from './log.ts'
import { listen } from './service.ts'
import { stopOnSignal } from './shutdown.ts'

export const RECEIVE: CommandSpec = {
  name: 'receive',
  synopsis: '[options]',
  description: `A webhook endpoint for development: prints each request (event, client, topic, decoded
payload) and checks its Standard Webhooks signature when given the secret.`,
  flags: {
    host: { type: 'string', value: 'HOST', default: '127.0.0.1', help: 'address to listen on' },
    port: { type: 'string', value: 'PORT', default: '8080', help: 'HTTP port; 0 picks a free port' },
    secret: {
      type: 'string',
      value: 'whsec_...',
      multiple: true,
      help: 'check signatures with this secret (repeat for several)',
    },
    encoding: {
      type: 'string',
      value: 'ENC',
      default: 'plain',
      help: 'how payloads are encoded: plain, base64 or base62',
    },
    raw: { type: 'boolean', help: 'also print each body exactly as received' },
  },
}

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
  const verifiers = (options.secrets ?? []).map(verifierFor)
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
      verifiers.length > 0 ? checkSignature(verifiers, request.headers, body) : unchecked(request.headers)
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
  await listen(server, host, options.port ?? 8080)
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
  const { help, values } = parseCommand(RECEIVE, argv)
  if (help) return say(usage(RECEIVE))
  const given = String(values.encoding)
  const encoding = given.toLowerCase()
  if (encoding !== 'plain' && encoding !== 'base64' && encoding !== 'base62')
    throw new UsageError(`--encoding must be plain, base64 or base62, got '${given}'`, usage(RECEIVE))
  const secrets = (values.secret as string[] | undefined) ?? []
  for (const secret of secrets) verifierFor(secret)
  const receiver = await startReceiver({
    host: String(values.host),
    port: parsePort('--port', String(values.port)),
    secrets,
    encoding,
    raw: values.raw === true,
  })
  stopOnSignal(undefined, async () => {
    await receiver.close()
    return 0
  })
  const checking = secrets.length > 0 ? ', checking signatures' : ''
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

/**
 * Standard Webhooks, checked by the `standardwebhooks` package (the reference implementation, not ours:
 * this command exists to show that what the webhook signs is what receivers verify). Any of several
 * secrets may match; the timestamp must be within the package's five minutes.
 */
export function checkSignature(
  verifiers: SignatureVerifier[],
  headers: IncomingHttpHeaders,
  body: string,
): SignatureCheck {
  const flat: Record<string, string> = {}
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = headers[name]
    if (typeof value === 'string') flat[name] = value
  }
  if (Object.keys(flat).length < 3) return { ok: false, label: '[SIGNATURE MISSING]' }
  let reason = 'no signature matches'
  for (const verifier of verifiers) {
    try {
      verifier.verify(body, flat, { jsonParse: false })
      return { ok: true, label: '[signature ok]' }
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error
      if (/timestamp/i.test(error.message)) reason = 'timestamp too old or too new'
    }
  }
  return { ok: false, label: `[SIGNATURE INVALID: ${reason}]` }
}

/** A verifier for `whsec_<base64>`; anything else is a usage error (the package would accept garbage). */
function verifierFor(secret: string): SignatureVerifier {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret
  const key = Buffer.from(encoded, 'base64')
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, ''))
    throw new UsageError(
      '--secret must be whsec_ followed by base64 (as the webhook config has it)',
      usage(RECEIVE),
    )
  return new SignatureVerifier(secret)
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}
