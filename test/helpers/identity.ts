import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as connectTcp, type Socket } from 'node:net'
import type { TestContext } from 'node:test'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import mqttPacket, { type Packet } from 'mqtt-packet'
import type { HookEventName } from '../../src/events.ts'
import { createWebhook } from '../../src/webhook.ts'
import type { Webhook } from '../../src/webhook-types.ts'
import { type Receiver, startReceiver } from './receiver.ts'

/**
 * A real webhook posting `events` to a loopback receiver one request at a time, so that the receiver gets
 * the bodies in the order the adapter handed the events over.
 */
export async function orderedWebhook(
  t: TestContext,
  events: HookEventName[],
): Promise<{ webhook: Webhook; receiver: Receiver }> {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = createWebhook({
    url: receiver.url,
    events: events.map((event) => ({ event })),
    pool_size: 1,
  })
  t.after(() => webhook.close({ timeout_ms: 1000 }))
  return { webhook, receiver }
}

/** The bodies received so far, in arrival order, with `ts`/`connected_at` checked to be numbers and taken out. */
export function bodies(receiver: Receiver): Array<Record<string, unknown>> {
  return (receiver.acceptedBodies() as Array<Record<string, unknown>>).map((body) => {
    const copy = { ...body }
    for (const time of ['ts', 'connected_at'] as const) {
      if (!(time in copy)) continue
      assert.equal(typeof copy[time], 'number', `${String(body.action)}.${time} is a number`)
      delete copy[time]
    }
    return copy
  })
}

/** Waits until the webhook has nothing left to send, then a little for requests on the wire. */
export async function settled(webhook: Webhook, receiver: Receiver, count: number): Promise<void> {
  await receiver.waitForAccepted(count)
  await webhook.flush()
  // What may still come (it must not) has had time to be handled.
  await new Promise((resolve) => setTimeout(resolve, 150))
  await webhook.flush()
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** An mqtt.js client (no reconnect) that resolves with its CONNACK, or `null` when refused or closed; closed when the test ends. */
export function openClient(
  t: TestContext,
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; sessionPresent: boolean } | null> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...options })
  client.on('error', () => {})
  t.after(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())))
  return new Promise((resolve) => {
    client.once('connect', (ack) => resolve({ client, sessionPresent: ack.sessionPresent }))
    client.once('error', () => resolve(null))
    client.once('close', () => resolve(null))
  })
}

/** A raw MQTT connection that sends what the test says and records every packet it gets. */
export interface RawClient {
  socket: Socket
  received: Packet[]
  send(packet: Record<string, unknown>): void
  /** Resolves once `predicate` holds over the received packets. */
  waitFor(predicate: (received: Packet[]) => boolean, timeoutMs?: number): Promise<void>
}

export async function rawClient(t: TestContext, port: number, protocolVersion = 4): Promise<RawClient> {
  const socket = connectTcp(port, '127.0.0.1')
  t.after(() => {
    socket.destroy()
  })
  socket.on('error', () => {})
  await once(socket, 'connect')
  const parser = mqttPacket.parser({ protocolVersion })
  const received: Packet[] = []
  const wakers = new Set<() => void>()
  parser.on('packet', (packet: Packet) => {
    received.push(packet)
    for (const wake of wakers) wake()
  })
  socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  return {
    socket,
    received,
    send: (packet) => socket.write(mqttPacket.generate(packet as unknown as Packet, { protocolVersion })),
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return
          clearTimeout(timer)
          wakers.delete(check)
          resolve()
        }
        const timer = setTimeout(() => {
          wakers.delete(check)
          reject(new Error(`raw client: not met; got ${received.map((p) => p.cmd).join(', ')}`))
        }, timeoutMs)
        wakers.add(check)
        check()
      })
    },
  }
}

/** The PUBLISH packets `raw` received with this payload. */
export function publishOf(raw: RawClient, payload: string): Packet & { messageId: number } {
  const found = raw.received.find(
    (packet) => packet.cmd === 'publish' && Buffer.from(packet.payload).toString() === payload,
  )
  assert.ok(found, `a PUBLISH of ${payload} arrived`)
  return found as Packet & { messageId: number }
}
