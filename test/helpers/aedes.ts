import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer, type Server, type Socket } from 'node:net'
import { Aedes, type AedesOptions } from 'aedes'

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
