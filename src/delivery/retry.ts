/**
 * What one attempt's result means for the event: delivered, worth another attempt, or hopeless (docs/delivery.md).
 *
 * Hand-written rather than a retry library (p-retry, axios-retry): which outcome retries is this project's
 * contract (408, 429, 5xx, network errors and timeouts, `Retry-After` honoured; never a certificate error
 * or another 4xx), and an event in backoff keeps its place in the dispatcher's bounded queue (counted in
 * `queued`) instead of hiding in a library's pending promise.
 */
import { describeError } from '../security/redact.ts'
import { describeTlsRefusal, isCertificateError } from '../security/tls.ts'
import type { WebhookResponse } from '../webhook-types.ts'

/** The verdict on one attempt. */
export interface AttemptOutcome {
  kind: 'success' | 'retry' | 'fail'
  /** The HTTP status, when there was a response. */
  status?: number
  /** The error code, when there was no response. */
  code?: string
  /** One line for the `failed` report, free of secrets and url credentials. */
  message?: string
  /** The delay the endpoint asked for with `Retry-After`, in ms. */
  retryAfterMs?: number
}

/** Abort reasons the dispatcher gives its per-attempt signal, so that a cancellation can be told apart. */
export const DEADLINE = Symbol('mqtt-webhook: attempt deadline')
export const CLOSED = Symbol('mqtt-webhook: webhook closed')

const SUCCESS_OUTCOMES: AttemptOutcome[] = []

/** 2xx succeeds; 408, 429 and 5xx are retried; anything else (3xx included: redirects are not followed) fails. */
export function classifyResponse(response: WebhookResponse, maxDelay: number): AttemptOutcome {
  const status = response.status
  if (status >= 200 && status < 300) return successOutcome(status)
  const message = `HTTP ${status}`
  if (status !== 408 && status !== 429 && status < 500) return { kind: 'fail', status, message }
  const retryAfterMs = parseRetryAfter(response.headers?.['retry-after'], Date.now())
  if (retryAfterMs === undefined) return { kind: 'retry', status, message }
  return { kind: 'retry', status, message, retryAfterMs: Math.min(retryAfterMs, maxDelay) }
}

/**
 * An attempt that threw: a timeout or a network error is retried, a certificate error is not (another
 * attempt meets the same certificate). The code is the error's (axios copies Node's), or `ETIMEDOUT` for
 * our own deadline; `sensitive` strings never reach the message.
 */
export function classifyError(
  error: unknown,
  signal: AbortSignal,
  cancelTimeout: number,
  sensitive: readonly string[],
): AttemptOutcome {
  if (signal.aborted && signal.reason === DEADLINE)
    return { kind: 'retry', code: 'ETIMEDOUT', message: `no complete response within ${cancelTimeout} ms` }
  const { code = 'ERR_SEND', message } = describeError(error, sensitive)
  if (!isCertificateError(code)) return { kind: 'retry', code, message }
  return { kind: 'fail', code, message: describeTlsRefusal(code) ?? message }
}

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(maxDelay, baseDelay * 2^(attempt-1))).
 * @param attempt The attempt that just failed, 1 for the first.
 */
export function backoffDelay(attempt: number, baseDelay: number, maxDelay: number): number {
  return Math.random() * Math.min(maxDelay, baseDelay * 2 ** (attempt - 1))
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `now`; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Every HTTP-date form starts with the day's name; Date.parse alone would take '-5' as a year.
  if (!/^[A-Za-z]/.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

// One frozen outcome per 2xx status: a delivered event then costs no allocation here.
function successOutcome(status: number): AttemptOutcome {
  const index = status - 200
  let outcome = SUCCESS_OUTCOMES[index]
  if (outcome === undefined) {
    outcome = Object.freeze({ kind: 'success', status }) as AttemptOutcome
    SUCCESS_OUTCOMES[index] = outcome
  }
  return outcome
}
