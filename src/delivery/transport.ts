/**
 * axios' transport: an adapter (axios' documented `adapter` hook) over one undici `Pool` to the endpoint.
 *
 * axios stays the request layer (config, headers, errors); undici carries the bytes. Measured on 2 cores,
 * axios' own http adapter cost 420–700 µs of CPU per request, undici's `Pool.request` 50–75 µs.
 *
 * What the pool promises: at most `pool_size` keep-alive connections, `pipelining` requests on each, TLS as
 * configured, redirects never followed (undici follows none unless told). A response's status decides the
 * attempt: the adapter resolves at the status line, and the body is drained behind it, at most
 * {@link RESPONSE_BODY_CAP} bytes and within the attempt's deadline; past either the connection is closed
 * rather than reused, so a huge or never-ending body costs neither memory nor a retry.
 */
import { rootCertificates } from 'node:tls'
import type { AxiosAdapter, AxiosError, AxiosResponse, InternalAxiosRequestConfig } from 'axios'
import type { ResolvedConfig } from '../config-types.ts'
import { createTlsConnector, type TlsConnector } from '../security/tls.ts'
import { type HttpLibraries, httpLibraries } from './http-libraries.ts'

/** Bytes of a response body read (and thrown away) so that its connection can be reused. */
export const RESPONSE_BODY_CAP = 4096

export interface Transport {
  adapter: AxiosAdapter
  /** Closes every connection at once, so that no keep-alive socket holds the process open. */
  destroy(): void
  /** Tells a connection the server closed right after the TLS handshake (see tls.ts). */
  connector: TlsConnector
}

/** One pool to the origin of `config.url`; requests to any other url are refused (the webhook has one endpoint). */
export function createTransport(config: ResolvedConfig): Transport {
  const { axios, Pool, request: undiciRequest } = httpLibraries()
  const url = new URL(config.url)
  const connector = createTlsConnector(
    url.protocol === 'https:' ? tlsOptions(config.tls) : undefined,
    config.cancelTimeout,
    url.protocol === 'https:' && config.tls?.cert !== undefined,
  )
  const pool = new Pool(url.origin, {
    connections: config.poolSize,
    pipelining: config.pipelining,
    connect: connector.connect,
    // The attempt's own deadline (its signal) cuts a request; undici's 300 s timers would only add timers.
    headersTimeout: 0,
    bodyTimeout: 0,
  })
  const path = `${url.pathname}${url.search}`
  const authorization = basicAuthorization(url)
  // With pipelining, POSTs may share a connection only when marked safe to repeat: our receivers
  // de-duplicate on `webhook-id`, and a request lost with its connection is resent by undici.
  const idempotent = config.pipelining > 1

  const adapter: AxiosAdapter = async (request: InternalAxiosRequestConfig) => {
    const headers = request.headers.toJSON(true) as Record<string, string>
    // As axios' http adapter did: url credentials replace a configured `authorization` header.
    if (authorization !== undefined) {
      delete headers.Authorization
      headers.authorization = authorization
    }
    const signal = request.signal as AbortSignal | undefined
    let response: Awaited<ReturnType<HttpLibraries['request']>>
    try {
      response = await undiciRequest(pool, {
        path,
        method: 'POST',
        headers,
        body: request.data as string | Buffer,
        signal,
        idempotent,
      })
    } catch (error) {
      throw requestError(axios, error, request, connector)
    }
    // Behind the answer, bounded in bytes and by the attempt's deadline; a body cut short closes its connection.
    response.body
      .dump({ limit: RESPONSE_BODY_CAP, ...(signal === undefined ? {} : { signal }) })
      .catch(() => {})
    return {
      data: '',
      status: response.statusCode,
      statusText: '',
      headers: response.headers as AxiosResponse['headers'],
      config: request,
      request: undefined,
    }
  }
  return {
    adapter,
    connector,
    destroy() {
      pool.destroy().catch(() => {})
    },
  }
}

/** An axios error, as axios' own adapters throw, with the socket's code (or ours for a refused client certificate). */
function requestError(
  axios: HttpLibraries['axios'],
  error: unknown,
  request: InternalAxiosRequestConfig,
  connector: TlsConnector,
): AxiosError {
  const cause = error instanceof Error ? error : new Error(String(error))
  const code = connector.refusal(error) ?? (cause as { code?: string }).code ?? 'ERR_SEND'
  const wrapped = new axios.AxiosError(cause.message, code, request)
  wrapped.cause = cause
  return wrapped
}

/** Node's TLS options for the configured `tls` block: what the https agent took before undici. */
function tlsOptions(tls: ResolvedConfig['tls']): Record<string, unknown> {
  if (tls === undefined) return {}
  return {
    // Node's `ca` replaces the bundled roots; `cacertfile` is meant to add one.
    ...(tls.ca === undefined ? {} : { ca: [...rootCertificates, tls.ca] }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
  }
}

/** `user:password@` in the url, as HTTP basic authentication: what axios' http adapter did with it. */
function basicAuthorization(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  return `Basic ${Buffer.from(credentials).toString('base64')}`
}
