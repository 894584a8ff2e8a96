export { attachAedes } from './adapters/aedes/index.ts'
export {
  createPacketObserver,
  type ObserverOptions,
  type PacketObserver,
} from './adapters/packets/observer.ts'
export { wrapStream } from './adapters/packets/stream.ts'
export type {
  BodyConfig,
  DisabledWebhookConfig,
  EnabledWebhookConfig,
  EventRule,
  PayloadEncoding,
  RetryConfig,
  TlsConfig,
  WebhookConfig,
} from './config-types.ts'
export { WebhookConfigError } from './errors.ts'
export * from './events.ts'
export { type FormatOptions, formatEvent } from './format.ts'
export { ConfigSyntaxError, loadConfig } from './load-config/index.ts'
export { type ProxyAddress, type ProxyOptions, type RunningProxy, startProxy } from './proxy.ts'
export { createWebhook } from './webhook.ts'
export type * from './webhook-types.ts'
