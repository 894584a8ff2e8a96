/** Thrown by `createWebhook` and `loadConfig` when the configuration is invalid. */
export class WebhookConfigError extends Error {
  /** `'WebhookConfigError'`, for logs and `instanceof`-free checks. */
  override name = 'WebhookConfigError'

  /**
   * @param key The offending key, dotted from the config's root (`events[2].topic`, `tls.certfile`).
   * @param reason What is wrong with it, in words a user can act on.
   */
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${key}: ${reason}`)
  }
}
