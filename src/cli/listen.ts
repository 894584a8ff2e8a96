import { warn } from './log.ts'

interface Listener {
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown
  once(event: 'listening' | 'error', listener: (error: NodeJS.ErrnoException) => void): unknown
  off(event: 'listening' | 'error', listener: (error: NodeJS.ErrnoException) => void): unknown
}

/** Resolves once listening; a listen error (EADDRINUSE...) rejects with one line; later errors are logged. */
export function whenListening(server: Listener, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onListening = () => {
      server.off('error', onError)
      server.on('error', (error) => warn(`listener error: ${error.code ?? error.message}`))
      resolve()
    }
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      reject(new Error(`cannot listen on ${formatHost(host)}:${port} (${error.code ?? error.message})`))
    }
    server.once('listening', onListening)
    server.once('error', onError)
  })
}

/** `[::1]` for IPv6 addresses, as URLs write them. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}
