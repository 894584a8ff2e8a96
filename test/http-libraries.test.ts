/**
 * The delivery thread loads undici by deep paths and axios by its browser bundle, to start sooner
 * (`src/delivery/http-libraries.ts`). undici 7 has no `exports` map and does not promise its file layout:
 * if an update moves a file, or a path stops holding what undici's index exports under that name, this
 * fails by name rather than the webhook failing at its first request.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { httpLibraries, UNDICI_PATHS } from '../src/delivery/http-libraries.ts'

const require = createRequire(import.meta.url)
const { axios, buildConnector, Pool, request } = httpLibraries()

test("the broker's thread loads neither axios nor undici: only the delivery thread sends", () => {
  const script = `
    import { createRequire } from 'node:module'
    import { createWebhook } from './src/index.ts'
    const webhook = createWebhook({ url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }] })
    const loaded = Object.keys(createRequire(import.meta.url).cache)
    console.log(JSON.stringify(loaded.filter((path) => /node_modules[\\/](axios|undici)[\\/]/.test(path))))
    await webhook.close({ timeout_ms: 0 })
  `
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  })
  assert.deepEqual(JSON.parse(output), [])
})

test("each deep undici path holds what undici's index exports under that name", () => {
  for (const path of Object.values(UNDICI_PATHS))
    assert.doesNotThrow(() => require.resolve(path), `undici moved ${path}`)
  const undici = require('undici') as typeof import('undici')
  assert.equal(Pool, undici.Pool, `${UNDICI_PATHS.Pool} is not undici.Pool any more`)
  assert.equal(
    buildConnector,
    undici.buildConnector,
    `${UNDICI_PATHS.buildConnector} is not undici.buildConnector any more`,
  )
  // The index adds its api to every dispatcher's prototype: `request` is the same function.
  assert.equal(
    require(UNDICI_PATHS.request),
    undici.Dispatcher.prototype.request,
    `${UNDICI_PATHS.request} is not Dispatcher.prototype.request any more`,
  )
})

test('package.json keeps undici to the minor whose layout this was checked against', () => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>
  }
  assert.match(manifest.dependencies.undici ?? '', /^~7\.\d+\.\d+$/)
  const installed = (require('undici/package.json') as { version: string }).version
  assert.equal(
    installed.split('.').slice(0, 2).join('.'),
    manifest.dependencies.undici?.slice(1).split('.').slice(0, 2).join('.'),
  )
})

test("axios' browser bundle is axios: create, AxiosError, and a request through an adapter", async () => {
  assert.equal(typeof axios.create, 'function')
  const error = new axios.AxiosError('refused', 'ECONNREFUSED')
  assert.equal(error.code, 'ECONNREFUSED')
  assert.equal(axios.isAxiosError(error), true)
  const client = axios.create({
    adapter: async (config: import('axios').InternalAxiosRequestConfig) => ({
      data: `${config.method} ${String(config.data)} ${config.headers.get('x-test')}`,
      status: 201,
      statusText: '',
      headers: {},
      config,
    }),
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
  })
  const response = await client.post('http://127.0.0.1:9/', '{"a":1}', { headers: { 'x-test': 'yes' } })
  assert.deepEqual([response.status, response.data], [201, 'post {"a":1} yes'])
})

test('request() on a Pool posts through undici without its index', async (t) => {
  const { createServer } = await import('node:http')
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk
    })
    req.on('end', () => res.writeHead(202).end(`${req.method} ${req.url} ${body}`))
  }).listen(0, '127.0.0.1')
  t.after(() => server.close())
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
  t.after(() => pool.destroy())
  const response = await request(pool, { path: '/hook', method: 'POST', body: 'hello' })
  assert.deepEqual([response.statusCode, await response.body.text()], [202, 'POST /hook hello'])
})
