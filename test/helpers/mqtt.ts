import { type EventEmitter, once } from 'node:events'
import { connect as connectTcp, type Socket } from 'node:net'
import type { TestContext } from 'node:test'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'

/** A connected mqtt.js client (MQTT 3.1.1, no reconnect) that the test force-closes when it ends. */
export async function connectClient(
  t: TestContext,
  url: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...options })
  t.after(() => closeClient(client))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () =>
      reject(new Error(`mqtt client ${options.clientId ?? ''} closed before CONNACK`)),
    )
  })
  return client
}

/** An mqtt.js client whose CONNECT is expected to be refused; resolves with the CONNACK's return code. */
export async function connectRefused(
  t: TestContext,
  url: string,
  options: IClientOptions = {},
): Promise<number> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...options })
  t.after(() => closeClient(client))
  const [error] = (await once(client as unknown as EventEmitter, 'error')) as [Error & { code?: number }]
  return error.code ?? -1
}

/** Closes `client` at once, without DISCONNECT; resolves when its socket is gone. */
export function closeClient(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(true, {}, () => resolve()))
}

/** Messages `client` receives, and a way to wait for a number of them. */
export function collectMessages(client: MqttClient): {
  messages: Array<{ topic: string; payload: string; qos: number; retain: boolean }>
  waitFor(count: number, timeoutMs?: number): Promise<void>
} {
  const messages: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = []
  const wakers = new Set<() => void>()
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain })
    for (const wake of wakers) wake()
  })
  return {
    messages,
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return
          clearTimeout(timer)
          wakers.delete(check)
          resolve()
        }
        const timer = setTimeout(() => {
          wakers.delete(check)
          reject(new Error(`${messages.length} of ${count} messages received`))
        }, timeoutMs)
        wakers.add(check)
        check()
      })
    },
  }
}

/**
 * A raw TCP connection that sends one CONNECT and then goes silent (no PINGREQ), so that the broker's
 * keepalive timer runs out. Destroyed when the test ends.
 */
export async function connectSilent(
  t: TestContext,
  port: number,
  connect: { clientId: string; keepalive: number; username?: string },
): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1')
  t.after(() => {
    socket.destroy()
  })
  await once(socket, 'connect')
  socket.on('error', () => {})
  socket.write(
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, ...connect }),
  )
  return socket
}
