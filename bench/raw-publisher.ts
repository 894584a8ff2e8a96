/** A publisher of raw MQTT bytes for the broker benches: it costs next to nothing while timing. */
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'

/** A TCP connection to 127.0.0.1:`port`, connected as MQTT 3.1.1 `clientId` (clean, no keep-alive), CONNACK read. */
export async function connectPublisher(port: number, clientId: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId,
      clean: true,
      keepalive: 0,
    }),
  )
  await once(socket, 'data') // the CONNACK
  return socket
}

/** `count` QoS 0 PUBLISH packets to `topic`, each with `payloadBytes` bytes of 'x', as one buffer. */
export function publishPackets(count: number, topic: string, payloadBytes: number): Buffer {
  const one = mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload: Buffer.alloc(payloadBytes, 'x'),
    qos: 0,
    retain: false,
    dup: false,
  })
  return Buffer.concat(Array.from({ length: count }, () => one))
}
