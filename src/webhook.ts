import type { WebhookConfig } from './config-types.ts'
import type { Webhook, WebhookOptions } from './webhook-types.ts'

/** Builds a webhook from `config`; throws `WebhookConfigError` on bad configuration. */
export function createWebhook(_config: WebhookConfig, _options: WebhookOptions = {}): Webhook {
  throw new Error('not implemented')
}
