/**
 * The package as a user gets it: `npm pack`, installed into an empty project with production dependencies
 * only, used from ESM, CommonJS and strict TypeScript. Slow (a build and an install), so one pack serves
 * every check.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT } from './helpers/cli-process.ts'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-package-'))
const project = join(dir, 'project')
after(() => rmSync(dir, { recursive: true, force: true }))

interface PackResult {
  filename: string
  files: Array<{ path: string }>
}
let packed: PackResult
const manifestBeforePack = readFileSync(join(ROOT, 'package.json'), 'utf8')

before(async () => {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  })
  // npm prints the prepack build's output before the JSON.
  packed = (JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as PackResult[])[0] as PackResult
  writeFileSync(join(dir, 'package.json'), '{}')
  await run('mkdir', ['-p', project])
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  // Production dependencies only, and aedes (a peer) since the checks attach to a broker.
  await run(
    'npm',
    [
      'install',
      '--omit=dev',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(dir, packed.filename),
      'aedes',
    ],
    { cwd: project },
  )
})

test('the tarball holds dist, the README, the LICENSE and the docs: no maps, no docs/api, no sources', () => {
  const paths = packed.files.map((file) => file.path)
  const unexpected = paths.filter(
    (path) =>
      !/^dist\/.+\.(js|d\.ts)$/.test(path) &&
      !/^docs\/[^/]+\.md$/.test(path) &&
      !['README.md', 'LICENSE', 'package.json'].includes(path),
  )
  assert.deepEqual(unexpected, [])
  assert.ok(
    paths.includes('dist/index.js') &&
      paths.includes('dist/metrics.js') &&
      paths.includes('dist/cli/index.js'),
  )
  const installed = join(project, 'node_modules/mqtt-webhook')
  assert.doesNotMatch(readFileSync(join(installed, 'dist/index.js'), 'utf8'), /sourceMappingURL/)
  // Users have the docs and the declarations, not the project's internal contract.
  const citing = paths.filter((path) => readFileSync(join(installed, path), 'utf8').includes('SPEC §'))
  assert.deepEqual(citing, [])
})

test("packing leaves the repository's package.json as it was, prepare included", () => {
  assert.equal(readFileSync(join(ROOT, 'package.json'), 'utf8'), manifestBeforePack)
  assert.equal(JSON.parse(manifestBeforePack).scripts.prepare, 'npm run build')
})

test('the published manifest has no install-time scripts, points at its repository, and keeps ws optional', () => {
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules/mqtt-webhook/package.json'), 'utf8'))
  for (const script of ['prepare', 'preinstall', 'install', 'postinstall'])
    assert.equal(manifest.scripts?.[script], undefined, script)
  assert.ok(manifest.repository?.url && manifest.homepage && manifest.bugs?.url)
  assert.equal(manifest.dependencies.ws, undefined)
  assert.equal(manifest.peerDependenciesMeta.ws.optional, true)
})

test('a memory-only install compiles no native module: better-sqlite3 is an optional peer, asked for by name', async () => {
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules/mqtt-webhook/package.json'), 'utf8'))
  assert.equal(manifest.optionalDependencies?.['better-sqlite3'], undefined)
  assert.equal(manifest.peerDependenciesMeta['better-sqlite3'].optional, true)
  assert.equal(existsSync(join(project, 'node_modules/better-sqlite3')), false)
  writeFileSync(
    join(project, 'sqlite.mjs'),
    `import { createWebhook } from 'mqtt-webhook'
try {
  createWebhook({ url: 'http://127.0.0.1:9/hook', events: [{ event: 'on_client_connack' }], queue: { store: 'sqlite', path: 'q.db' } })
} catch (error) { console.log(error.name, error.key, error.message) }
`,
  )
  const { stdout } = await run(process.execPath, ['sqlite.mjs'], { cwd: project })
  assert.match(stdout, /^WebhookConfigError queue\.store .*npm install better-sqlite3@12/)
})

/** The same few lines from ESM and from CommonJS: a webhook attached to an aedes broker, one event posted. */
const USE = (load: string) => `${load}
const posted = []
const webhook = createWebhook(
  { url: 'http://127.0.0.1:9/hook', events: [{ event: 'on_client_connack' }] },
  { send: async (request) => { posted.push(request.body); return { status: 200 } } },
)
const broker = new Aedes()
const detach = attachAedes(broker, webhook)
webhook.handle({ event: 'on_client_connack', clientid: 'c1', proto_ver: 4, keepalive: 60, conn_ack: 'success' })
webhook.flush().then(async () => {
  detach()
  await webhook.close()
  broker.close(() => console.log(JSON.stringify(posted)))
})
`
const POSTED = `${JSON.stringify([
  '{"proto_ver":4,"keepalive":60,"conn_ack":"success","username":"undefined","clientid":"c1","action":"client_connack"}',
])}\n`

test('ESM: import from mqtt-webhook', async () => {
  writeFileSync(
    join(project, 'esm.mjs'),
    USE(`import { createWebhook, attachAedes } from 'mqtt-webhook'\nimport { Aedes } from 'aedes'`),
  )
  const { stdout } = await run(process.execPath, ['esm.mjs'], { cwd: project })
  assert.equal(stdout, POSTED)
})

test('CommonJS: require(mqtt-webhook) from a .cjs file', async () => {
  writeFileSync(
    join(project, 'cjs.cjs'),
    USE(`const { createWebhook, attachAedes } = require('mqtt-webhook')\nconst { Aedes } = require('aedes')`),
  )
  const { stdout } = await run(process.execPath, ['cjs.cjs'], { cwd: project })
  assert.equal(stdout, POSTED)
})

/**
 * A real delivery through the delivery thread (not `options.send`): it loads axios' browser bundle and
 * undici's files by path, which must be in a production install. Run as a file and as `--input-type=module
 * -e`, a flag a worker thread would inherit and refuse.
 */
const DELIVER = `import { createServer } from 'node:http'
import { createWebhook } from 'mqtt-webhook'
const bodies = []
const server = createServer((request, response) => {
  let body = ''
  request.on('data', (chunk) => { body += chunk })
  request.on('end', () => { bodies.push(body); response.end() })
}).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const webhook = createWebhook({ url: 'http://127.0.0.1:' + server.address().port + '/hook', events: [{ event: 'on_client_connack' }] })
webhook.on('failed', (report) => console.log('failed', report.message))
webhook.handle({ event: 'on_client_connack', clientid: 'c1', proto_ver: 4, keepalive: 60, conn_ack: 'success' })
await webhook.flush()
await webhook.close()
server.close()
console.log(JSON.stringify(bodies))
`

test('the delivery thread posts from the installed package, from a file, from --input-type=module -e, with --expose-gc', async () => {
  writeFileSync(join(project, 'deliver.mjs'), DELIVER)
  const fromFile = await run(process.execPath, ['deliver.mjs'], { cwd: project })
  assert.equal(fromFile.stdout, POSTED)
  const fromEval = await run(process.execPath, ['--input-type=module', '-e', DELIVER], { cwd: project })
  assert.equal(fromEval.stdout, POSTED)
  // A per-process flag a worker may not be given explicitly, next to one it must not inherit.
  const withGc = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', DELIVER], {
    cwd: project,
  })
  assert.equal(withGc.stdout, POSTED)
})

test('TypeScript strict with exactOptionalPropertyTypes: ESM and CommonJS consumers compile', async () => {
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        exactOptionalPropertyTypes: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        noEmit: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: ['consumer.mts', 'consumer.cts'],
    }),
  )
  const body = `
const disabled: WebhookConfig = { enable: false }
const config: WebhookConfig = {
  url: 'http://127.0.0.1:8080/hook',
  events: [{ event: 'on_message_publish', topic: 'a/#' }],
  secret: process.env.WEBHOOK_SECRET,
  retry: { max_attempts: 5 },
}
const logger: Logger | undefined = process.env.QUIET ? undefined : console
const webhook = createWebhook(process.env.OFF ? disabled : config, { logger })
webhook.on('failed', (report) => {
  const status: number | undefined = report.status
  return status
})
const body = formatEvent({ event: 'on_message_publish', topic: 'a', qos: 1, retain: false, payload: new Uint8Array(), from_client_id: 'c' })
const topic: string = body.topic
const detach: () => void = attachAedes(new Aedes(), webhook)
export { detach, topic }
`
  writeFileSync(
    join(project, 'consumer.mts'),
    `import { createWebhook, attachAedes, formatEvent, type Logger, type WebhookConfig } from 'mqtt-webhook'\nimport { Aedes } from 'aedes'\n${body}`,
  )
  writeFileSync(
    join(project, 'consumer.cts'),
    `import mw = require('mqtt-webhook')\nimport aedes = require('aedes')\nconst { createWebhook, attachAedes, formatEvent } = mw\nconst { Aedes } = aedes\ntype WebhookConfig = mw.WebhookConfig\ntype Logger = mw.Logger\n${body}`,
  )
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
  const result = await run(process.execPath, [tsc, '-p', '.'], { cwd: project }).catch((error) => error)
  assert.equal(result.stdout, '')
  assert.equal(result.code ?? 0, 0)
})

test('the bin runs from the tarball; under npx, a SIGTERM to npx still drains and stops the broker', async (t) => {
  const help = await run(
    process.execPath,
    ['node_modules/mqtt-webhook/dist/cli/index.js', 'broker', '--help'],
    {
      cwd: project,
    },
  )
  assert.match(help.stdout, /^Usage: mqtt-webhook broker /)
  const config = join(dir, 'webhook.json')
  writeFileSync(
    config,
    JSON.stringify({ url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }] }),
  )
  const npx = spawn('npx', ['--no-install', 'mqtt-webhook', 'broker', '--config', config, '--port', '0'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => npx.kill('SIGKILL'))
  let output = ''
  const ended = new Promise<void>((resolve) => npx.stdout.on('end', resolve))
  const logged = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (pattern.test(output)) resolve()
      }
      npx.stdout.on('data', (chunk: Buffer) => {
        output += chunk
        check()
      })
      check()
    })
  await logged(/broker listening on /)
  npx.kill('SIGTERM')
  // The pipe ends only when the last process holding it, the broker, is gone.
  await ended
  const stopped = output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { msg: string })
    .at(-1)
  assert.equal(stopped?.msg, 'stopped  matched 0  delivered 0  failed 0  dropped 0  queued 0')
})

test('without the optional ws and prom-client, --ws-port and --metrics-port say what to install, exit 2', async () => {
  const config = join(dir, 'optional.json')
  writeFileSync(
    config,
    JSON.stringify({ url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }] }),
  )
  const cli = join(project, 'node_modules/mqtt-webhook/dist/cli/index.js')
  for (const [flag, line] of [
    ['--ws-port', 'mqtt-webhook: --ws-port needs ws: npm install ws\n'],
    ['--metrics-port', 'mqtt-webhook: --metrics-port needs prom-client: npm install prom-client\n'],
  ] as const) {
    const result = await run(
      process.execPath,
      [cli, 'broker', '--config', config, '--port', '0', flag, '0'],
      {
        cwd: project,
      },
    ).catch((error: { code: number; stderr: string }) => error)
    assert.deepEqual(
      { code: (result as { code?: number }).code, stderr: result.stderr },
      { code: 2, stderr: line },
    )
  }
})
