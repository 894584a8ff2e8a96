import { WebhookConfigError } from '../errors.ts'

/**
 * A config file that cannot be parsed. Its `key` is `file:line:column`, so the message reads like a
 * compiler's: `/etc/nanomq.conf:12:5: expected '=' or '{' after "url"`.
 */
export class ConfigSyntaxError extends WebhookConfigError {
  /** `'ConfigSyntaxError'`; it is also a `WebhookConfigError`. */
  override name = 'ConfigSyntaxError'

  /**
   * @param file The path as given to `loadConfig`.
   * @param line 1-based.
   * @param column 1-based, in characters (a tab counts as one).
   * @param reason What is wrong at that place.
   */
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    reason: string,
  ) {
    super(`${file}:${line}:${column}`, reason)
  }
}
