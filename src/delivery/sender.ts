/**
 * The HTTP side: one POST per attempt through axios over the undici transport (`transport.ts`), or
 * through `options.send`. A batch is one POST of a JSON array of the bodies, in order.
 */
import type { AxiosInstance, CreateAxiosDefaults } from 'axios'
import type { ResolvedConfig } from '../config-types.ts'
import type { HookEvent } from '../events.ts'
import { signatureHeaders } from '../security/signing.ts'
import type { WebhookOptions, WebhookResponse } from '../webhook-types.ts'
import { httpLibraries } from './http-libraries.ts'
import type { AttemptSender, Body } from './job.ts'
import { createTransport, type Transport } from './transport.ts'

export interface Sender {
  send: AttemptSender
  /** Closes every socket, so that no keep-alive connection holds the process open. */
  destroy(): void
}

/** The user's `options.send`, and where to find the event a job's id names (the request carries it). */
export interface CustomSend {
  send: NonNullable<WebhookOptions['send']>
  eventOf(id: number): HookEvent
}

/**
 * A sender for `config`: the user's `options.send` when given, else axios.
 * @param webhookId Names a job's id as its `webhook-id` header (a batch's: its first event's).
 */
export function createSender(
  config: ResolvedConfig,
  webhookId: (id: number) => string,
  custom?: CustomSend,
): Sender {
  const headersFor = headerBuilder(config, webhookId)
  if (custom !== undefined) {
    return {
      send: (job, attempt, signal) => {
        const body = job.batch === undefined ? job.body : batchBody(job.batch)
        const events = (job.batch ?? [job]).map((member) => custom.eventOf(member.id))
        return custom.send({
          url: config.url,
          headers: headersFor(job.id, body),
          // The user's function is promised text; only the delivery thread holds bodies as bytes.
          body: typeof body === 'string' ? body : body.toString('utf8'),
          signal,
          event: events[0] as HookEvent,
          events,
          attempt,
        })
      },
      destroy() {},
    }
  }

  const transport = createTransport(config)
  const client = createAxios(transport)
  const url = config.url
  return {
    async send(job, _attempt, signal): Promise<WebhookResponse> {
      const body = job.batch === undefined ? job.body : batchBody(job.batch)
      // request() rather than post(): post() merges its config once more before request() does.
      const response = await client.request<string>({
        method: 'post',
        url,
        data: body,
        headers: headersFor(job.id, body),
        signal,
      })
      return response as WebhookResponse
    },
    destroy() {
      transport.destroy()
    },
  }
}

/** A batch's body: the JSON array of its members' bodies, in order, byte for byte. */
export function batchBody(members: ReadonlyArray<{ body: Body }>): Body {
  if (members.every((member) => typeof member.body === 'string'))
    return `[${members.map((member) => member.body).join(',')}]`
  const parts: Buffer[] = []
  for (const member of members) {
    parts.push(parts.length === 0 ? OPEN : COMMA)
    parts.push(typeof member.body === 'string' ? Buffer.from(member.body) : member.body)
  }
  parts.push(CLOSE)
  return Buffer.concat(parts)
}

const OPEN = Buffer.from('[')
const COMMA = Buffer.from(',')
const CLOSE = Buffer.from(']')

/**
 * The headers of one attempt: the configured ones, `webhook-id` always (receivers de-duplicate retries
 * with it), and with secrets a fresh timestamp and signature (Standard Webhooks).
 */
function headerBuilder(
  config: ResolvedConfig,
  webhookId: (id: number) => string,
): (id: number, body: Body) => Record<string, string> {
  const base = config.headers
  const secrets = config.secrets
  if (secrets.length === 0) return (id) => ({ ...base, 'webhook-id': webhookId(id) })
  return (id, body) => ({ ...base, ...signatureHeaders(secrets, webhookId(id), Date.now() / 1000, body) })
}

/**
 * axios as a plain request layer: the body goes out byte for byte (no transform re-serializing it), the
 * response is neither parsed nor judged (the dispatcher classifies statuses), redirects are not followed,
 * environment proxies are ignored. The bench's axios baseline uses the same, over axios' own http adapter.
 */
export const PLAIN_REQUEST_LAYER = {
  proxy: false,
  maxRedirects: 0,
  validateStatus: () => true,
  responseType: 'text',
  transformRequest: [(data: unknown) => data],
  transformResponse: [(data: unknown) => data],
} as const satisfies CreateAxiosDefaults

/** axios over the undici transport. */
function createAxios(transport: Transport): AxiosInstance {
  return httpLibraries().axios.create({ ...PLAIN_REQUEST_LAYER, adapter: transport.adapter })
}
