/**
 * A loopback HTTP receiver in its own process, so that its cost does not share the measured event loop:
 * answers every POST with an empty 200. Prints `{"port":N}` once listening; exits when stdin closes.
 */
import { createServer } from 'node:http'

const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    response.writeHead(200, { 'content-length': '0' })
    response.end()
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
