import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import { wrapStream } from '../src/adapters/packets/stream.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

/** A client socket connected to a loopback server whose sockets are wrapped; resolves both ends. */
async function loopbackPair() {
  let accept!: (socket: Socket) => void
  const accepted = new Promise<Socket>((resolve) => {
    accept = resolve
  })
  const server = createServer((socket) => accept(socket))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  const serverSide = await accepted
  return {
    client,
    serverSide,
    async close() {
      client.destroy()
      serverSide.destroy()
      const closed = once(server, 'close')
      server.close()
      await closed
    },
  }
}

test('wrapStream over a real TCP socket: backpressure both ways, every byte in order', async (t) => {
  const pair = await loopbackPair()
  t.after(() => pair.close())
  const wrapped = wrapStream(pair.serverSide, recordingWebhook())
  const big = Buffer.alloc(8 * 1024 * 1024)
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251

  // Server to client: the wrapped stream says "wait" while the client does not read, then drains.
  let sawBackpressure = false
  let offset = 0
  while (offset < big.length) {
    const ok = wrapped.write(big.subarray(offset, offset + 65536))
    offset += 65536
    if (!ok) {
      sawBackpressure = true
      break
    }
  }
  assert.ok(sawBackpressure, 'write() returned false while the client was not reading')
  const received: Buffer[] = []
  let receivedLength = 0
  pair.client.on('data', (chunk: Buffer) => {
    received.push(chunk)
    receivedLength += chunk.length
  })
  while (offset < big.length) {
    if (!wrapped.write(big.subarray(offset, offset + 65536))) await once(wrapped, 'drain')
    offset += 65536
  }
  while (receivedLength < big.length) await once(pair.client, 'data')
  assert.ok(Buffer.concat(received).equals(big))

  // Client to server: nobody reads the wrapped stream, so the client's socket fills up and says "wait".
  let clientWrote = 0
  while (pair.client.write(big.subarray(clientWrote, clientWrote + 65536))) clientWrote += 65536
  clientWrote += 65536
  assert.ok(clientWrote < big.length, 'the client was held back before everything was sent')
  const read: Buffer[] = []
  let readLength = 0
  wrapped.on('data', (chunk: Buffer) => {
    read.push(chunk)
    readLength += chunk.length
  })
  while (clientWrote < big.length) {
    if (!pair.client.write(big.subarray(clientWrote, clientWrote + 65536))) await once(pair.client, 'drain')
    clientWrote += 65536
  }
  while (readLength < big.length) await once(wrapped, 'data')
  assert.ok(Buffer.concat(read).equals(big))
})

test('wrapStream: the socket ending ends the wrapped stream; ending the wrapped stream ends the socket', async (t) => {
  const pair = await loopbackPair()
  t.after(() => pair.close())
  const wrapped = wrapStream(pair.serverSide, recordingWebhook())
  wrapped.resume()
  const wrappedEnded = once(wrapped, 'end')
  pair.client.end()
  await wrappedEnded
  pair.client.resume()
  const clientEnded = once(pair.client, 'end')
  wrapped.end()
  await clientEnded
})

test('wrapStream: a socket error reaches the wrapped stream, and destroying the wrapped stream destroys the socket', async (t) => {
  const webhook = recordingWebhook()
  const first = await loopbackPair()
  t.after(() => first.close())
  const wrapped = wrapStream(first.serverSide, webhook)
  const failed = once(wrapped, 'error')
  first.serverSide.destroy(new Error('boom'))
  const [error] = await failed
  assert.equal((error as Error).message, 'boom')
  assert.ok(wrapped.destroyed)

  const second = await loopbackPair()
  t.after(() => second.close())
  const other = wrapStream(second.serverSide, webhook)
  const clientClosed = once(second.client, 'close')
  other.destroy()
  await clientClosed
  assert.ok(second.serverSide.destroyed)
  assert.deepEqual(webhook.errors, [])
})

test('wrapStream takes the remote address from the socket for ipaddress', async (t) => {
  const pair = await loopbackPair()
  t.after(() => pair.close())
  const webhook = recordingWebhook(['on_client_connect'])
  const wrapped = wrapStream(pair.serverSide, webhook)
  wrapped.resume()
  pair.client.write(Buffer.from([0x10, 0x0d, 0, 4, 77, 81, 84, 84, 4, 2, 0, 9, 0, 1, 0x61]))
  await webhook.waitFor((events) => events.length === 1)
  assert.deepEqual(webhook.events, [
    {
      event: 'on_client_connect',
      clientid: 'a',
      username: undefined,
      ipaddress: '127.0.0.1',
      keepalive: 9,
      proto_ver: 4,
    },
  ])
})
