import type { ResolvedConfig, TlsConfig } from '../config-types.ts'

/**
 * Reads and checks the PEM files of a `tls` block; throws `WebhookConfigError` naming the key
 * (`${keyPrefix}.certfile`...) and the file when one cannot be read or is not valid PEM.
 */
export function resolveTls(_tls: TlsConfig, _keyPrefix: string): NonNullable<ResolvedConfig['tls']> {
  throw new Error('not implemented')
}
