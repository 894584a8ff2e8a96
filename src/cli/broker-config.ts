import { readFileSync } from 'node:fs'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import type { Aedes } from 'aedes'
import {
  type BrokerSettings,
  type ListenAddress,
  readBrokerSettings,
} from '../load-config/broker-settings.ts'
import { ConfigFileError } from '../load-config/errors.ts'
import type { Location } from '../load-config/hocon.ts'
import { formatHost, UsageError } from './args.ts'
import { listen } from './service.ts'

/** What the command line said; a flag given overrides the file. */
export interface ListenFlags {
  host?: string
  port?: number
  wsPort?: number
}

/**
 * The listeners and auth of the broker's config file; `undefined` for a JSON file (it has only the webhook).
 * A bad value becomes one line naming the file, line and column.
 */
export function readBrokerFile(path: string): BrokerSettings | undefined {
  try {
    const settings = readBrokerSettings(path)
    return settings
  } catch (error) {
    if (error instanceof ConfigFileError) throw new UsageError(error.message)
    throw error
  }
}

/** Where the broker listens: the flags, else the file, else 127.0.0.1:1883. */
export function chooseListeners(
  file: BrokerSettings | undefined,
  flags: ListenFlags,
): {
  host: string
  port: number
  extraTcp: ListenAddress[]
  ws?: { host: string; port: number; path?: string }
} {
  const [first, ...extraTcp] = file?.tcp ?? []
  const host = flags.host ?? first?.host ?? '127.0.0.1'
  const port = flags.port ?? first?.port ?? 1883
  const fileWs = file?.ws
  const chosen: ReturnType<typeof chooseListeners> = { host, port, extraTcp }
  if (flags.wsPort !== undefined) chosen.ws = { host: flags.host ?? fileWs?.host ?? host, port: flags.wsPort }
  else if (fileWs) chosen.ws = { host: flags.host ?? fileWs.host, port: fileWs.port }
  if (chosen.ws && fileWs?.path !== undefined) chosen.ws.path = fileWs.path
  return chosen
}

/**
 * NanoMQ's rule for who may connect (NanoNNG `verify_connect`): with `allow_anonymous = true` everyone;
 * otherwise a username and a password are needed (CONNACK 4 without them), and, when the file lists users,
 * they must match one (CONNACK 5 otherwise).
 */
export function applyAuth(broker: Aedes, auth: BrokerSettings['auth']): void {
  if (auth.allowAnonymous) return
  broker.authenticate = (_client, username, password, done) => {
    if (!username || !password || password.length === 0)
      return done(refusal(4, 'bad username or password'), false)
    if (auth.users.size > 0 && auth.users.get(username) !== password.toString('utf8'))
      return done(refusal(5, 'not authorized'), false)
    done(null, true)
  }
}

function refusal(returnCode: number, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode })
}

/** Lines said once at start: what the file asks for that this broker does not do, and auth notes. */
export function describeFileSettings(file: BrokerSettings, path: string): string[] {
  const where = (at: Location) => `${path}:${at.line}`
  const lines = file.ignored.map((at) => `ignored: ${at.key} (${where(at)}): not done by mqtt-webhook broker`)
  if (file.auth.allowAnonymous && file.auth.users.size > 0)
    lines.push('auth: allow_anonymous = true, so the password list is not checked (as in NanoMQ)')
  if (!file.auth.allowAnonymous && file.auth.users.size === 0)
    lines.push(
      'auth: allow_anonymous = false and no password list: any client with a username and password is accepted (as in NanoMQ)',
    )
  return lines
}

/** The listeners of the file besides the first TCP one: more TCP listeners, and the TLS listener. */
export async function startFileListeners(
  broker: Aedes,
  file: BrokerSettings,
  extraTcp: ListenAddress[],
  sockets: Set<Socket>,
): Promise<{ servers: Server[]; urls: string[] }> {
  const servers: Server[] = []
  const urls: string[] = []
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  try {
    for (const address of extraTcp) {
      const server = createServer((socket) => {
        track(socket)
        broker.handle(socket)
      })
      servers.push(server)
      urls.push(`mqtt://${formatHost(address.host)}:${await listenOn(server, address)}`)
    }
    if (file.ssl) {
      const ssl = file.ssl
      const server = createTlsServer(
        {
          key: readFileSync(ssl.keyfile),
          cert: readFileSync(ssl.certfile),
          ...(ssl.cacertfile === undefined ? {} : { ca: readFileSync(ssl.cacertfile) }),
          ...(ssl.keyPassword === undefined ? {} : { passphrase: ssl.keyPassword }),
          requestCert: ssl.verifyPeer,
          // fail_if_no_peer_cert = false still refuses a certificate that does not verify (below).
          rejectUnauthorized: ssl.verifyPeer && ssl.failIfNoPeerCert,
        },
        (socket: TLSSocket) => {
          track(socket)
          const presented = ssl.verifyPeer && Object.keys(socket.getPeerCertificate()).length > 0
          if (presented && !socket.authorized) return socket.destroy()
          broker.handle(socket)
        },
      )
      servers.push(server)
      urls.push(`mqtts://${formatHost(ssl.host)}:${await listenOn(server, ssl)}`)
    }
  } catch (error) {
    for (const server of servers) server.close()
    throw error
  }
  return { servers, urls }
}

async function listenOn(server: Server, address: ListenAddress): Promise<number> {
  await listen(server, address.host, address.port)
  return (server.address() as AddressInfo).port
}
