import type { ResolvedConfig, WebhookConfig } from './config-types.ts'

/** Validates `config` and fills in defaults; throws `WebhookConfigError` naming the key and the reason. */
export function resolveConfig(_config: WebhookConfig): ResolvedConfig {
  throw new Error('not implemented')
}
