import assert from 'node:assert/strict'
import { resolveConfig } from '../../src/config.ts'
import type { WebhookConfig } from '../../src/config-types.ts'
import { WebhookConfigError } from '../../src/errors.ts'

/** `resolveConfig(config)` throws a `WebhookConfigError` naming exactly this key and this reason. */
export function assertRejected(config: unknown, key: string, reason: string): void {
  assert.throws(
    () => resolveConfig(config as WebhookConfig),
    (error: unknown) => {
      assert.ok(error instanceof WebhookConfigError, `not a WebhookConfigError: ${String(error)}`)
      assert.equal(error.key, key)
      assert.equal(error.reason, reason)
      assert.equal(error.message, `${key}: ${reason}`)
      return true
    },
  )
}
