/**
 * A tiny MQTT server on `net` + mqtt-packet, no broker library, that gives itself webhooks with
 * `createPacketObserver`: it tells the observer each packet it reads and each packet it writes.
 *
 *   WEBHOOK_URL=http://127.0.0.1:8080/hook PORT=1883 npx tsx examples/custom-server.ts
 *
 * It keeps only what the example needs: QoS 0/1/2 both ways, wildcards, wills; no retained messages, no
 * persistent sessions, no authentication.
 */
import { once } from 'node:events'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import mqtt, { type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet'
import { createPacketObserver, type PacketObserver } from '../src/adapters/packets/observer.ts'
import { HOOK_EVENT_NAMES } from '../src/events.ts'
import { createWebhook } from '../src/webhook.ts'
import type { Webhook } from '../src/webhook-types.ts'

export interface CustomServerOptions {
  webhook: Webhook
  /** @default '127.0.0.1' */
  host?: string
  /** @default 0 (a free port) */
  port?: number
}

export interface RunningCustomServer {
  port: number
  url: string
  close(): Promise<void>
}

interface Session {
  socket: Socket
  observer: PacketObserver
  version: number
  clientId: string
  /** Topic filter to granted QoS. */
  subscriptions: Map<string, 0 | 1 | 2>
  will: IConnectPacket['will']
  nextMessageId: number
  disconnected: boolean
}

/** Starts the server; each connection gets its own observer. */
export async function startCustomServer(options: CustomServerOptions): Promise<RunningCustomServer> {
  const sessions = new Set<Session>()
  const server = createServer((socket) => accept(socket, options.webhook, sessions))
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `mqtt://${options.host ?? '127.0.0.1'}:${port}`,
    async close() {
      const closed = once(server, 'close')
      server.close()
      for (const session of sessions) session.socket.destroy()
      await closed
    },
  }
}

function accept(socket: Socket, webhook: Webhook, sessions: Set<Session>): void {
  const session: Session = {
    socket,
    observer: createPacketObserver(webhook, { remoteAddress: socket.remoteAddress }),
    version: 4,
    clientId: '',
    subscriptions: new Map(),
    will: undefined,
    nextMessageId: 1,
    disconnected: false,
  }
  const parser = mqtt.parser()
  parser.on('packet', (packet: Packet) => {
    session.observer.inbound(packet)
    onPacket(session, packet, sessions)
  })
  // Bad bytes: a real server would answer per the spec; the example just hangs up.
  parser.on('error', () => socket.destroy())
  socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  socket.on('error', () => socket.destroy())
  socket.on('close', () => {
    sessions.delete(session)
    if (!session.disconnected && session.will) route(sessions, toPublish(session.will))
    session.observer.close()
  })
}

function send(session: Session, packet: Packet): void {
  if (session.socket.destroyed) return
  session.observer.outbound(packet)
  session.socket.write(mqtt.generate(packet, { protocolVersion: session.version }))
}

function onPacket(session: Session, packet: Packet, sessions: Set<Session>): void {
  switch (packet.cmd) {
    case 'connect':
      session.version = packet.protocolVersion ?? 4
      session.clientId = packet.clientId
      session.will = packet.will
      sessions.add(session)
      send(session, { cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false })
      break
    case 'subscribe':
      for (const { topic, qos } of packet.subscriptions) session.subscriptions.set(topic, qos)
      send(session, {
        cmd: 'suback',
        messageId: packet.messageId,
        granted: packet.subscriptions.map((s) => s.qos),
      })
      break
    case 'unsubscribe':
      for (const topic of packet.unsubscriptions) session.subscriptions.delete(topic)
      send(session, {
        cmd: 'unsuback',
        messageId: packet.messageId,
        granted: packet.unsubscriptions.map(() => 0),
      })
      break
    case 'publish':
      route(sessions, packet)
      if (packet.qos === 1) send(session, { cmd: 'puback', messageId: packet.messageId })
      if (packet.qos === 2) send(session, { cmd: 'pubrec', messageId: packet.messageId })
      return
    case 'pubrel':
      send(session, { cmd: 'pubcomp', messageId: packet.messageId })
      break
    case 'pubrec':
      send(session, { cmd: 'pubrel', messageId: packet.messageId })
      break
    case 'pingreq':
      send(session, { cmd: 'pingresp' })
      break
    case 'disconnect':
      session.disconnected = true
      session.socket.end()
      return
    default:
      return
  }
}

/** Sends a message to every session with a matching filter, at the lower of both QoS. */
function route(sessions: Set<Session>, message: IPublishPacket): void {
  for (const session of sessions) {
    let granted = -1
    for (const [filter, qos] of session.subscriptions)
      if (matches(filter, message.topic)) granted = Math.max(granted, qos)
    if (granted < 0) continue
    const qos = Math.min(granted, message.qos) as 0 | 1 | 2
    const messageId = qos > 0 ? nextId(session) : undefined
    send(session, {
      cmd: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos,
      retain: false,
      dup: false,
      messageId,
    })
  }
}

function nextId(session: Session): number {
  const id = session.nextMessageId
  session.nextMessageId = id === 0xffff ? 1 : id + 1
  return id
}

function toPublish(will: NonNullable<IConnectPacket['will']>): IPublishPacket {
  return {
    cmd: 'publish',
    topic: will.topic,
    payload: will.payload,
    qos: will.qos ?? 0,
    retain: false,
    dup: false,
  }
}

/** MQTT topic matching: `+` one level, `#` the rest (the parent included). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

// `npx tsx examples/custom-server.ts`: every event to WEBHOOK_URL.
if (import.meta.url === `file://${process.argv[1]}`) {
  const webhook = createWebhook({
    url: process.env.WEBHOOK_URL ?? 'http://127.0.0.1:8080/hook',
    events: HOOK_EVENT_NAMES.map((event) => ({ event })),
  })
  webhook.on('error', (error) => console.error(error.message))
  const running = await startCustomServer({ webhook, port: Number(process.env.PORT ?? 1883) })
  console.log(
    `MQTT on ${running.url}, webhooks to ${process.env.WEBHOOK_URL ?? 'http://127.0.0.1:8080/hook'}`,
  )
}
