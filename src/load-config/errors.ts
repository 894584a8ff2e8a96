import { WebhookConfigError } from '../errors.ts'

/**
 * A bad value in a config file. Its message reads like a compiler's and names the key as the file
 * writes it: `/etc/nanomq.conf:14:5: webhook.events[0].topic: invalid topic filter: ...`.
 * `key` is that written key; `file`, `line` and `column` say where it is.
 */
export class ConfigFileError extends WebhookConfigError {
  override name = 'ConfigFileError'

  /**
   * @param file The path as given to `loadConfig`.
   * @param line 1-based.
   * @param column 1-based, in characters (a tab counts as one).
   * @param key The key as written in the file (`webhook.rule.message.publish[0]`, `web.hook.url`).
   * @param reason What is wrong with it.
   */
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    key: string,
    reason: string,
  ) {
    super(key, reason)
    this.message = `${file}:${line}:${column}: ${key}: ${reason}`
  }
}

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
