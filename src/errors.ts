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

/** Why an observed connection stopped being observed; stable, for code that tells them apart. */
export type ObserverErrorCode =
  /** Bytes that are not MQTT, or a packet the observer could not follow. */
  | 'ERR_MQTT_MALFORMED'
  /** A packet to parse was larger than `maxPacketSize`. */
  | 'ERR_MQTT_PACKET_TOO_LARGE'
  /** A packet to parse did not fit what is left of the `packetBudget` shared by the observed streams. */
  | 'ERR_MQTT_PACKET_BUDGET'

/**
 * Reported (through `webhook.reportError`, never thrown) once per connection, when an observed stream
 * (`wrapStream`, the proxy) or a packet observer stops following a connection. Its bytes still pass.
 */
export class ObserverError extends Error {
  /** `'ObserverError'`; `code` says why. */
  override name = 'ObserverError'

  /**
   * @param code Why, as a stable code.
   * @param message One line naming the client and the reason.
   */
  constructor(
    readonly code: ObserverErrorCode,
    message: string,
  ) {
    super(message)
  }
}
