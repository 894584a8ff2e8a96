import { Duplex } from 'node:stream'
import type { Webhook } from '../../webhook-types.ts'
import { resolvePacketLimits } from './budget.ts'
import { ConnectionObserver, type ObserverOptions } from './observer.ts'
import type { MessageOrigins } from './origins.ts'
import type { ClientSessions } from './sessions.ts'
import { PacketTap, selectPackets, wantsAnything } from './tap.ts'

/** Looks at both directions of one connection's bytes; `null` when the webhook wants nothing from it. */
export interface ConnectionTaps {
  observer: ConnectionObserver
  inbound: PacketTap
  outbound: PacketTap
  /** The connection ended: gives back what its taps hold, then closes the observer (`error`: not cleanly). */
  close(error?: Error): void
}

/**
 * Builds the taps of one connection, or `null` when nothing is wanted, so the caller can just pipe.
 * Throws a `RangeError` on bad size options (see `resolvePacketLimits`).
 */
export function tapConnection(
  webhook: Webhook,
  options: ObserverOptions,
  origins?: MessageOrigins,
  sessions?: ClientSessions,
): ConnectionTaps | null {
  const limits = resolvePacketLimits(options)
  if (!wantsAnything(webhook)) return null
  const observer = new ConnectionObserver(webhook, options.remoteAddress, origins, undefined, sessions)
  const selection = selectPackets(webhook, origins !== undefined)
  const inbound = new PacketTap(observer, 'inbound', selection.inbound, limits)
  const outbound = new PacketTap(observer, 'outbound', selection.outbound, limits)
  // A connection that stops being observed holds nothing, whichever direction stopped it.
  observer.onStop = () => {
    inbound.release()
    outbound.release()
  }
  return {
    observer,
    inbound,
    outbound,
    close(error) {
      inbound.release()
      outbound.release()
      observer.close(error)
    },
  }
}

/**
 * A Duplex that passes `socket`'s bytes through unchanged in both directions and observes both: what the
 * socket receives (client to server) comes out of it, what is written to it (server to client) goes to the
 * socket. Hand it to MQTT server code in place of the socket.
 *
 * Throws a `RangeError` when `maxPacketSize` is not a positive integer, is over MQTT's limit, or is larger
 * than `packetBudget`.
 */
export function wrapStream(socket: Duplex, webhook: Webhook, options: ObserverOptions = {}): Duplex {
  const remoteAddress = options.remoteAddress ?? (socket as { remoteAddress?: string }).remoteAddress
  const taps = tapConnection(webhook, { ...options, remoteAddress })
  return new ObservedStream(socket, taps)
}

class ObservedStream extends Duplex {
  private closedObserver = false

  constructor(
    private readonly socket: Duplex,
    private readonly taps: ConnectionTaps | null,
  ) {
    super({ allowHalfOpen: true })
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk))
    socket.on('end', () => this.push(null))
    socket.on('error', (error: Error) => this.destroy(error))
    socket.on('close', () => {
      this.closeObserver()
      if (!this.destroyed) this.destroy()
    })
    socket.pause()
  }

  /** Servers log it; aedes reads it for the client's address. */
  get remoteAddress(): string | undefined {
    return (this.socket as { remoteAddress?: string }).remoteAddress
  }

  get remotePort(): number | undefined {
    return (this.socket as { remotePort?: number }).remotePort
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.taps?.outbound.push(chunk)
    if (this.socket.write(chunk)) callback()
    else this.socket.once('drain', () => callback())
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeObserver(error ?? undefined)
    if (!this.socket.destroyed) this.socket.destroy(error ?? undefined)
    callback(error)
  }

  private onSocketData(chunk: Buffer): void {
    this.taps?.inbound.push(chunk)
    if (!this.push(chunk)) this.socket.pause()
  }

  private closeObserver(error?: Error): void {
    if (this.closedObserver) return
    this.closedObserver = true
    this.taps?.close(error)
  }
}
