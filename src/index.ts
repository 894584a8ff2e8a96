export { attachAedes } from './adapters/aedes/index.ts'
export {
  DEFAULT_MAX_PACKET_SIZE,
  DEFAULT_PACKET_BUDGET,
  PacketBudget,
  processPacketBudget,
} from './adapters/packets/budget.ts'
export {
  createPacketObserver,
  type ObserverOptions,
  type PacketObserver,
} from './adapters/packets/observer.ts'
export { wrapStream } from './adapters/packets/stream.ts'
export type {
  BatchConfig,
  BodyConfig,
  DisabledWebhookConfig,
  EnabledWebhookConfig,
  EventRule,
  PayloadEncoding,
  QueueConfig,
  RetryConfig,
  SqliteQueueConfig,
  TlsConfig,
  WebhookConfig,
} from './config-types.ts'
export type { DeadLetterFilter, StoreStats } from './delivery/store/types.ts'
export { ObserverError, type ObserverErrorCode, WebhookConfigError } from './errors.ts'
export * from './events.ts'
export { type FormatOptions, formatEvent } from './format.ts'
export { ConfigFileError, ConfigSyntaxError, loadConfig } from './load-config/index.ts'
export { type ProxyAddress, type ProxyOptions, type RunningProxy, startProxy } from './proxy.ts'
export {
  RateLimitedWarner,
  type RateLimitedWarnerOptions,
  type WarningSummary,
} from './rate-limited-warner.ts'
export { createWebhook } from './webhook.ts'
export type * from './webhook-types.ts'
