import type { Client, ConnectPacket } from 'aedes'
import type { Packet } from 'mqtt-packet'
import type { QoS } from '../../events.ts'
import { handleInboundAck } from './handlers/acked.ts'
import { handleInboundUnsubscribe } from './handlers/unsubscribe.ts'
import {
  type AdapterState,
  type ClientRecord,
  guarded,
  packetParserOf,
  remoteAddressOf,
  report,
  usernameOf,
} from './state.ts'

/** Starts following a connection whose CONNECT just arrived. */
export function openRecord(state: AdapterState, client: Client, packet: ConnectPacket): ClientRecord {
  const record = newRecord(state, client, true, {
    requestedId: typeof packet.clientId === 'string' ? packet.clientId : '',
    username: typeof packet.username === 'string' ? packet.username : undefined,
    keepalive: typeof packet.keepalive === 'number' ? packet.keepalive : 0,
    protoVer: typeof packet.protocolVersion === 'number' ? packet.protocolVersion : 4,
    clean: packet.clean !== false,
    connackSent: false,
    connected: false,
  })
  return record
}

/**
 * The app's `preConnect` accepted the CONNECT, maybe after rewriting it (aedes hands it the packet for
 * that): from now on the record carries what aedes authenticates and uses. The client id aedes uses is read
 * from `client.id` when needed, since `authenticate` may still change it.
 */
export function adoptConnect(record: ClientRecord, packet: ConnectPacket): void {
  record.username = typeof packet.username === 'string' ? packet.username : undefined
  record.keepalive = typeof packet.keepalive === 'number' ? packet.keepalive : 0
  record.protoVer = typeof packet.protocolVersion === 'number' ? packet.protocolVersion : 4
  record.clean = packet.clean !== false
}

/**
 * The record of `client`; a client that connected before `attachAedes` gets one from what aedes still
 * knows (its username is lost, its address too once the socket is gone).
 */
export function recordOf(state: AdapterState, client: Client): ClientRecord {
  const known = state.records.get(client)
  if (known) return known
  return newRecord(state, client, !client.closed, {
    requestedId: typeof client.id === 'string' ? client.id : '',
    username: usernameOf(state, client.id),
    keepalive: 0,
    protoVer: typeof client.version === 'number' ? client.version : 4,
    clean: client.clean !== false,
    connackSent: client.connected === true,
    connected: client.connected === true,
  })
}

type RecordSeed = Pick<
  ClientRecord,
  'requestedId' | 'username' | 'keepalive' | 'protoVer' | 'clean' | 'connackSent' | 'connected'
>

/** A record; one for a connection that is already closed is not kept (nothing would ever forget it). */
function newRecord(state: AdapterState, client: Client, keep: boolean, seed: RecordSeed): ClientRecord {
  const record: ClientRecord = {
    ...seed,
    client,
    ipaddress: remoteAddressOf(client),
    connectedAt: undefined,
    subscriptions: new Map<string, QoS>(),
    awaitingPuback: new Map(),
    awaitingPubrec: new Map(),
    awaitingPubcomp: new Map(),
    release: () => {},
  }
  if (!keep) return record
  state.records.set(client, record)
  record.release = followConnection(state, record)
  return record
}

/** Listens to the client's inbound packets (only when an event needs them) and forgets the record when the socket closes. */
function followConnection(state: AdapterState, record: ClientRecord): () => void {
  const { client } = record
  const wanted = state.wanted
  const needsPackets = wanted.on_client_unsubscribe || wanted.on_message_acked
  const parser = needsPackets ? packetParserOf(client) : undefined
  if (needsPackets && !parser) {
    report(
      state,
      new Error(
        'aedes adapter: client._parser is gone (aedes changed); unsubscribe and acked events cannot fire',
      ),
    )
  }
  const onPacket = guarded(state, (state: AdapterState, packet: Packet) => {
    switch (packet.cmd) {
      case 'unsubscribe':
        if (wanted.on_client_unsubscribe) handleInboundUnsubscribe(state, record, packet)
        return
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        if (wanted.on_message_acked) handleInboundAck(state, record, packet)
        return
    }
  })
  // A connected client is forgotten at `clientDisconnect`, which aedes emits after the socket closed.
  const onClose = () => {
    if (!record.connected) forget(state, record)
  }
  parser?.on('packet', onPacket)
  client.conn.once('close', onClose)
  return () => {
    parser?.off('packet', onPacket)
    client.conn.off('close', onClose)
  }
}

/** Drops everything kept for a connection that is gone. */
export function forget(state: AdapterState, record: ClientRecord): void {
  record.release()
  state.records.delete(record.client)
}
