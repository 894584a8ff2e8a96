/**
 * A loopback HTTP receiver in its own process, so that its cost does not share the measured event loop:
 * answers every POST with an empty 200. Prints `{"port":N}` once listening; exits when stdin closes.
 */
import { createServer } from 'node:http'
import { listenForParent } from './child.ts'

const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    response.writeHead(200, { 'content-length': '0' })
    response.end()
  })
})
server.keepAliveTimeout = 60_000
listenForParent(server)
