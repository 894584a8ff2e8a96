import assert from 'node:assert/strict'
import { Duplex, PassThrough } from 'node:stream'
import { test } from 'node:test'
import mqtt, { type Packet } from 'mqtt-packet'
import { wrapStream } from '../src/adapters/packets/stream.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

const STREAMS = 10_000
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)

/** mulberry32: a small seeded generator, so that a failing run can be replayed with FUZZ_SEED. */
function random(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (max: number) => Math.floor(next() * max)
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(256)))
  return { next, int, bytes, pick: <T>(items: readonly T[]) => items[int(items.length)] as T }
}
type Random = ReturnType<typeof random>

/** A plausible conversation: what a client sends, and what a server answers. */
function conversation(
  rng: Random,
  clientId: string,
  version: 4 | 5,
): { inbound: Buffer[]; outbound: Buffer[] } {
  const gen = (packet: Packet) => mqtt.generate(packet, { protocolVersion: version })
  const payload = () => rng.bytes(rng.int(40))
  const qos = () => rng.int(3) as 0 | 1 | 2
  const inbound = [
    gen({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId,
      keepalive: rng.int(100),
      clean: rng.next() < 0.5,
    }),
  ]
  const outbound = [gen({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false })]
  for (let i = rng.int(8); i > 0; i--) {
    const id = 1 + rng.int(5)
    switch (rng.int(6)) {
      case 0: {
        const q = qos()
        inbound.push(
          gen({
            cmd: 'publish',
            topic: `t/${rng.int(9)}`,
            qos: q,
            messageId: q ? id : undefined,
            retain: false,
            dup: false,
            payload: payload(),
          }),
        )
        break
      }
      case 1: {
        const q = qos()
        outbound.push(
          gen({
            cmd: 'publish',
            topic: `t/${rng.int(9)}`,
            qos: q,
            messageId: q ? id : undefined,
            retain: false,
            dup: false,
            payload: payload(),
          }),
        )
        break
      }
      case 2:
        inbound.push(gen({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: 't/+', qos: qos() }] }))
        outbound.push(gen({ cmd: 'suback', messageId: id, granted: [rng.pick([0, 1, 2, 0x80])] }))
        break
      case 3:
        inbound.push(gen({ cmd: 'unsubscribe', messageId: id, unsubscriptions: ['t/+'] }))
        outbound.push(gen({ cmd: 'unsuback', messageId: id, granted: [0] }))
        break
      case 4:
        inbound.push(gen({ cmd: rng.pick(['puback', 'pubrec', 'pubcomp'] as const), messageId: id }))
        break
      default:
        inbound.push(gen({ cmd: 'pingreq' }))
        outbound.push(gen({ cmd: 'pingresp' }))
    }
  }
  if (rng.next() < 0.5) inbound.push(gen({ cmd: 'disconnect' }))
  return { inbound, outbound }
}

type Damage = 'none' | 'length-over-limit' | 'bad-utf8-topic' | 'flip' | 'cut' | 'insert' | 'garbage'

/** Damages the client's bytes; the first two damages must be reported with a known message. */
function damage(rng: Random, packets: Buffer[], kind: Damage): Buffer {
  const at = 1 + rng.int(packets.length)
  switch (kind) {
    case 'length-over-limit':
      packets.splice(at, 0, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), rng.bytes(rng.int(20)))
      break
    case 'bad-utf8-topic': {
      const topic = Buffer.from([0x61, 0xc3, 0x28])
      const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from('x')])
      packets.splice(at, 0, Buffer.concat([Buffer.from([0x30, body.length]), body]))
      break
    }
    default:
  }
  let bytes = Buffer.concat(packets)
  if (kind === 'flip') for (let n = 1 + rng.int(4); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256)
  if (kind === 'cut') bytes = bytes.subarray(0, rng.int(bytes.length))
  if (kind === 'insert') {
    const where = rng.int(bytes.length)
    bytes = Buffer.concat([bytes.subarray(0, where), rng.bytes(1 + rng.int(30)), bytes.subarray(where)])
  }
  if (kind === 'garbage') bytes = rng.bytes(rng.int(300))
  return bytes
}

/** Writes `bytes` in random slices. */
function writeInSlices(rng: Random, bytes: Buffer, write: (chunk: Buffer) => void): void {
  for (let offset = 0; offset < bytes.length; ) {
    const size = rng.next() < 0.3 ? bytes.length : 1 + rng.int(64)
    write(bytes.subarray(offset, offset + size))
    offset += size
  }
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', reject)
  })
}

/** One connection through wrapStream: returns what came out on each side and what was reported. */
async function runOne(rng: Random, index: number) {
  const webhook = recordingWebhook()
  const clientToServer = new PassThrough()
  const serverToClient = new PassThrough()
  const wrapped = wrapStream(Duplex.from({ readable: clientToServer, writable: serverToClient }), webhook, {
    remoteAddress: '10.9.8.7',
  })
  const readByServer = collect(wrapped)
  const readByClient = collect(serverToClient)
  const clientId = `fz-${index}`
  const { inbound, outbound } = conversation(rng, clientId, rng.pick([4, 5] as const))
  const kind = rng.pick<Damage>([
    'none',
    'length-over-limit',
    'bad-utf8-topic',
    'flip',
    'cut',
    'insert',
    'garbage',
  ])
  const sent = damage(rng, inbound, kind)
  // The server's answers are damaged too, now and then, but only when the client's bytes are intact, so
  // that each damage is reported on its own side.
  const serverKind =
    kind === 'none' && rng.next() < 0.3 ? rng.pick<Damage>(['flip', 'insert', 'garbage']) : 'none'
  const answered = serverKind === 'none' ? Buffer.concat(outbound) : damage(rng, outbound, serverKind)
  // The server answers once it has read the client: its CONNECT tells which protocol the answers speak.
  writeInSlices(rng, sent, (chunk) => clientToServer.write(chunk))
  clientToServer.end()
  const server = await readByServer
  writeInSlices(rng, answered, (chunk) => wrapped.write(chunk))
  wrapped.end()
  const client = await readByClient
  wrapped.destroy()
  return {
    kind: serverKind === 'none' ? kind : (`server-${serverKind}` as const),
    clientId,
    sent,
    answered,
    server,
    client,
    errors: webhook.errors,
  }
}

test(`fuzz: ${STREAMS} random and damaged streams through wrapStream relay every byte and report bad ones`, async (t) => {
  const rng = random(SEED)
  const reported: Record<string, number> = {}
  for (let batch = 0; batch < STREAMS; batch += 100) {
    const runs = await Promise.all(Array.from({ length: 100 }, (_, i) => runOne(rng, batch + i)))
    for (const run of runs) {
      const where = `seed ${SEED}, ${run.clientId}, ${run.kind}`
      assert.ok(run.server.equals(run.sent), `client bytes relayed unchanged (${where})`)
      assert.ok(run.client.equals(run.answered), `server bytes relayed unchanged (${where})`)
      assert.ok(
        run.errors.length <= 1,
        `reported at most once (${where}): ${run.errors.map((e) => e.message)}`,
      )
      if (run.errors.length === 1) reported[run.kind] = (reported[run.kind] ?? 0) + 1
      if (run.kind === 'none') assert.deepEqual(run.errors, [], where)
      if (run.kind.startsWith('server-') && run.errors[0] !== undefined)
        assert.match(
          run.errors[0].message,
          // A damaged length may announce more than maxPacketSize: reported as too large, on the same side.
          new RegExp(
            `^mqtt-webhook: client "${run.clientId}" .*(malformed outbound MQTT|outbound [A-Z]+ of \\d+ bytes is over maxPacketSize)`,
          ),
          where,
        )
      if (run.kind === 'length-over-limit')
        assert.equal(
          run.errors[0]?.message,
          `mqtt-webhook: client "${run.clientId}" (10.9.8.7): malformed inbound MQTT: remaining length over the limit (more than 4 bytes); no longer observing this connection`,
          where,
        )
      if (run.kind === 'bad-utf8-topic')
        assert.equal(
          run.errors[0]?.message,
          `mqtt-webhook: client "${run.clientId}" (10.9.8.7): malformed inbound MQTT: PUBLISH topic is not valid UTF-8; no longer observing this connection`,
          where,
        )
    }
  }
  // Random damage is mostly caught too (some flips land in payloads, where nothing can tell).
  t.diagnostic(`streams reported, by damage: ${JSON.stringify(reported)}`)
  assert.ok((reported['server-garbage'] ?? 0) > 0, JSON.stringify(reported))
  assert.ok(
    (reported.garbage ?? 0) > 0 && (reported.flip ?? 0) > 0 && (reported.insert ?? 0) > 0,
    JSON.stringify(reported),
  )
})
