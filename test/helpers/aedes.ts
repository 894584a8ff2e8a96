import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer, type Server, type Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { Aedes, type AedesOptions } from 'aedes'
import { attachAedes } from '../../src/adapters/aedes/index.ts'
import type { HookEvent, HookEventName, HookEventOf } from '../../src/events.ts'
import type { Webhook } from '../../src/webhook-types.ts'

export interface RunningBroker {
  broker: Aedes
  port: number
  /** `mqtt://127.0.0.1:PORT` */
  url: string
  close(): Promise<void>
}

/** A real aedes broker on 127.0.0.1 and a free port. */
export async function startAedes(options: AedesOptions = {}): Promise<RunningBroker> {
  const broker = await Aedes.createBroker(options)
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    broker,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      const closed = once(server, 'close')
      server.close()
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await closed
    },
  }
}

/** A real aedes broker with `attachAedes` on it; everything is closed when the test ends. */
export async function startAttachedAedes(
  t: TestContext,
  webhook: Webhook,
  options: AedesOptions = {},
): Promise<RunningBroker & { detach: () => void }> {
  const running = await startAedes(options)
  const detach = attachAedes(running.broker, webhook)
  t.after(async () => {
    detach()
    await running.close()
  })
  return { ...running, detach }
}

/** The events of the given names, in the order they were handed over. */
export function eventsNamed<N extends HookEventName>(
  events: readonly HookEvent[],
  ...names: N[]
): HookEventOf<N>[] {
  return events.filter((event): event is HookEventOf<N> => (names as HookEventName[]).includes(event.event))
}
