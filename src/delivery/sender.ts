/**
 * The HTTP side: one POST per attempt through axios over keep-alive agents, or through `options.send`.
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { rootCertificates } from 'node:tls'
import axios, { type AxiosInstance } from 'axios'
import type { ResolvedConfig } from '../config-types.ts'
import type { HookEvent } from '../events.ts'
import { signatureHeaders } from '../security/signing.ts'
import type { WebhookOptions, WebhookResponse } from '../webhook-types.ts'
import type { AttemptSender, Body } from './job.ts'

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
 * @param webhookId Names a job's id as its `webhook-id` header.
 */
export function createSender(
  config: ResolvedConfig,
  webhookId: (id: number) => string,
  custom?: CustomSend,
): Sender {
  const headersFor = headerBuilder(config, webhookId)
  if (custom !== undefined) {
    return {
      send: (job, attempt, signal) =>
        custom.send({
          url: config.url,
          headers: headersFor(job.id, job.body),
          // The user's function is promised text; only the delivery thread holds bodies as bytes.
          body: typeof job.body === 'string' ? job.body : job.body.toString('utf8'),
          signal,
          event: custom.eventOf(job.id),
          attempt,
        }),
      destroy() {},
    }
  }

  const agents = createAgents(config)
  const client = createAxios(agents)
  const url = config.url
  return {
    async send(job, _attempt, signal): Promise<WebhookResponse> {
      // request() rather than post(): post() merges its config once more before request() does.
      const response = await client.request<string>({
        method: 'post',
        url,
        data: job.body,
        headers: headersFor(job.id, job.body),
        signal,
      })
      return response as WebhookResponse
    },
    destroy() {
      agents.http.destroy()
      agents.https.destroy()
    },
  }
}

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

interface Agents {
  http: HttpAgent
  https: HttpsAgent
}

/** Keep-alive agents holding at most `pool_size` sockets: NanoMQ opens one connection per event, we reuse. */
function createAgents(config: ResolvedConfig): Agents {
  const common = { keepAlive: true, maxSockets: config.poolSize, maxFreeSockets: config.poolSize }
  const tls = config.tls
  const https = new HttpsAgent(
    tls === undefined
      ? common
      : {
          ...common,
          // Node's `ca` replaces the bundled roots; `cacertfile` is meant to add one.
          ...(tls.ca === undefined ? {} : { ca: [...rootCertificates, tls.ca] }),
          ...(tls.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls.key === undefined ? {} : { key: tls.key }),
          ...(tls.servername === undefined ? {} : { servername: tls.servername }),
          rejectUnauthorized: tls.rejectUnauthorized,
        },
  )
  return { http: new HttpAgent(common), https }
}

/**
 * axios as a plain transport: the body string goes out byte for byte (no transform re-serializing it),
 * the response is neither parsed nor judged (the dispatcher classifies statuses), redirects are not
 * followed, environment proxies are ignored.
 */
function createAxios(agents: Agents): AxiosInstance {
  return axios.create({
    httpAgent: agents.http,
    httpsAgent: agents.https,
    proxy: false,
    maxRedirects: 0,
    validateStatus: () => true,
    responseType: 'text',
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
  })
}
