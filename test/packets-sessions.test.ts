/**
 * The proxy's linked connections, packet by packet, in the orders the network may show them: a connection
 * that closes before or after the CONNACK of the connection that takes its client id over.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Packet } from 'mqtt-packet'
import { ConnectionObserver } from '../src/adapters/packets/observer.ts'
import { ClientSessions } from '../src/adapters/packets/sessions.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const WANTED = ['on_client_connack', 'on_client_disconnected', 'on_session_terminated'] as const

function connection(webhook: ReturnType<typeof recordingWebhook>, sessions: ClientSessions) {
  return new ConnectionObserver(webhook, '127.0.0.1', undefined, undefined, sessions)
}

const connect = (clientId: string, clean = true, username?: string) =>
  ({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean,
    clientId,
    keepalive: 60,
    username,
  }) as Packet
const connack = (returnCode = 0, sessionPresent = false) =>
  ({ cmd: 'connack', returnCode, sessionPresent }) as Packet

/** What was handed over, as `event clientid reason`. */
function told(webhook: ReturnType<typeof recordingWebhook>): string[] {
  return webhook.events.map((event) => {
    const fields = event as { clientid?: string; reason?: string; conn_ack?: string; username?: string }
    return [event.event, fields.clientid, fields.username, fields.reason ?? fields.conn_ack]
      .filter(Boolean)
      .join(' ')
  })
}

test('the old connection closes before the new CONNACK: its end waits for it, then is a takeover', () => {
  const webhook = recordingWebhook([...WANTED])
  const sessions = new ClientSessions()
  const a = connection(webhook, sessions)
  const b = connection(webhook, sessions)
  a.inbound(connect('dev', true, 'ua'))
  a.outbound(connack())
  b.inbound(connect('dev', true, 'ub'))
  a.close()
  assert.deepEqual(told(webhook), ['on_client_connack dev ua success'], 'nothing is decided yet')
  b.outbound(connack())
  assert.deepEqual(told(webhook), [
    'on_client_connack dev ua success',
    'on_client_disconnected dev ua abnormal',
    'on_session_terminated dev ua discarded',
    'on_client_connack dev ub success',
  ])
})

test('the old connection closes while the new CONNECT is refused: it ended on its own', () => {
  const webhook = recordingWebhook([...WANTED])
  const sessions = new ClientSessions()
  const a = connection(webhook, sessions)
  const b = connection(webhook, sessions)
  a.inbound(connect('dev', true, 'ua'))
  a.outbound(connack())
  b.inbound(connect('dev', true, 'ub'))
  a.close()
  b.outbound(connack(5))
  b.close()
  assert.deepEqual(told(webhook), [
    'on_client_connack dev ua success',
    'on_client_disconnected dev ua abnormal',
    'on_session_terminated dev ua abnormal',
    'on_client_connack dev ub fail',
  ])
})

test('the new connection goes away before any CONNACK: the old one ended on its own', () => {
  const webhook = recordingWebhook([...WANTED])
  const sessions = new ClientSessions()
  const a = connection(webhook, sessions)
  const b = connection(webhook, sessions)
  a.inbound(connect('dev', false, 'ua'))
  a.outbound(connack())
  b.inbound(connect('dev', true, 'ub'))
  a.close()
  b.close()
  // A persistent session is kept offline: a later accepted clean CONNECT discards it.
  const c = connection(webhook, sessions)
  c.inbound(connect('dev', true, 'uc'))
  c.outbound(connack())
  assert.deepEqual(told(webhook), [
    'on_client_connack dev ua success',
    'on_client_disconnected dev ua abnormal',
    'on_session_terminated dev ua discarded',
    'on_client_connack dev uc success',
  ])
})

test('a connection that said DISCONNECT is never taken over, and its late close reports it once', () => {
  const webhook = recordingWebhook([...WANTED])
  const sessions = new ClientSessions()
  const a = connection(webhook, sessions)
  const b = connection(webhook, sessions)
  a.inbound(connect('dev', true, 'ua'))
  a.outbound(connack())
  a.inbound({ cmd: 'disconnect' } as Packet)
  b.inbound(connect('dev', true, 'ub'))
  b.outbound(connack())
  a.close()
  assert.deepEqual(told(webhook), [
    'on_client_connack dev ua success',
    'on_client_connack dev ub success',
    'on_client_disconnected dev ua normal',
    'on_session_terminated dev ua normal',
  ])
})

test('a connection already replaced closes later: nothing more is reported', () => {
  const webhook = recordingWebhook([...WANTED])
  const sessions = new ClientSessions()
  const a = connection(webhook, sessions)
  const b = connection(webhook, sessions)
  a.inbound(connect('dev', false, 'ua'))
  a.outbound(connack())
  b.inbound(connect('dev', false, 'ub'))
  b.outbound(connack(0, true))
  a.close()
  b.close()
  assert.deepEqual(told(webhook), [
    'on_client_connack dev ua success',
    'on_client_disconnected dev ua abnormal',
    'on_client_connack dev ub success',
    'on_client_disconnected dev ub abnormal',
  ])
})
