import type { TestContext } from 'node:test'
import { type RunningProxy, startProxy } from '../../src/proxy.ts'
import type { Logger, Webhook } from '../../src/webhook-types.ts'

/** A logger that says nothing: for tests that do not look at the proxy's log lines. */
export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/** A proxy on 127.0.0.1 and a free port in front of `upstreamPort`, closed when the test ends. */
export async function startLoopbackProxy(
  t: TestContext,
  upstreamPort: number,
  webhook: Webhook,
  logger: Logger = quietLogger,
): Promise<RunningProxy> {
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: upstreamPort },
    webhook,
    logger,
  })
  t.after(() => proxy.close())
  return proxy
}
