import { Duplex, PassThrough } from 'node:stream'
import mqtt, { type Packet } from 'mqtt-packet'
import type { ObserverOptions } from '../../src/adapters/packets/observer.ts'
import { wrapStream } from '../../src/adapters/packets/stream.ts'
import type { Webhook } from '../../src/webhook-types.ts'

/** An in-process connection through `wrapStream`, recording the bytes that come out on each side. */
export interface WrappedPair {
  /** Bytes the client sends (they come out of the wrapped stream, as a server would read them). */
  fromClient(bytes: Buffer): void
  /** Bytes the server writes to the wrapped stream (they reach the socket, as the client would read them). */
  fromServer(bytes: Buffer): void
  /**
   * Generates a packet encoded for `protocolVersion`, sends it from the client and resolves once the server
   * side has read it (so that packets of both directions are seen in the order the test sends them).
   */
  clientSends(packet: Packet, protocolVersion?: number): Promise<void>
  /** Generates a packet and writes it from the server; resolves once the client side has it. */
  serverSends(packet: Packet, protocolVersion?: number): Promise<void>
  /** What came out of the wrapped stream so far (client to server). */
  readByServer(): Buffer
  /** What reached the socket so far (server to client). */
  readByClient(): Buffer
  /** Ends both directions and resolves once the wrapped stream has closed. */
  end(): Promise<void>
  wrapped: Duplex
}

export function wrappedPair(webhook: Webhook, options: ObserverOptions = {}): WrappedPair {
  const clientToServer = new PassThrough()
  const serverToClient = new PassThrough()
  const socket = Duplex.from({ readable: clientToServer, writable: serverToClient })
  const wrapped = wrapStream(socket, webhook, { remoteAddress: '10.0.0.1', ...options })
  const serverRead: Buffer[] = []
  const clientRead: Buffer[] = []
  wrapped.on('data', (chunk: Buffer) => serverRead.push(chunk))
  serverToClient.on('data', (chunk: Buffer) => clientRead.push(chunk))
  const closed = new Promise<void>((resolve) => wrapped.once('close', () => resolve()))
  wrapped.on('error', () => {})
  return {
    wrapped,
    fromClient: (bytes) => void clientToServer.write(bytes),
    fromServer: (bytes) => void wrapped.write(bytes),
    async clientSends(packet, protocolVersion = 4) {
      const arrived = new Promise((resolve) => wrapped.once('data', resolve))
      clientToServer.write(mqtt.generate(packet, { protocolVersion }))
      await arrived
    },
    async serverSends(packet, protocolVersion = 4) {
      const arrived = new Promise((resolve) => serverToClient.once('data', resolve))
      wrapped.write(mqtt.generate(packet, { protocolVersion }))
      await arrived
    },
    readByServer: () => Buffer.concat(serverRead),
    readByClient: () => Buffer.concat(clientRead),
    async end() {
      // Let what was written drain through before closing.
      await new Promise((resolve) => setImmediate(resolve))
      wrapped.destroy()
      await closed
    },
  }
}
