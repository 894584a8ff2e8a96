import type { WebhookConfig } from '../config-types.ts'

/** Reads a NanoMQ config file (HOCON `webhook {}` block, legacy `web.hook.*` lines) or JSON. */
export function loadConfig(_path: string): WebhookConfig {
  throw new Error('not implemented')
}
