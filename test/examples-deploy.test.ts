import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { envName } from '../src/cli/args.ts'
import { BROKER } from '../src/cli/broker.ts'
import { ROOT } from './helpers/cli-process.ts'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-deploy-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const unit = readFileSync(join(ROOT, 'examples/deploy/mqtt-webhook.service'), 'utf8')
const dockerfile = readFileSync(join(ROOT, 'examples/deploy/Dockerfile'), 'utf8')
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))

/** What `systemd-analyze verify` says about a unit file: nothing, when it is right. */
async function verify(text: string): Promise<{ code: number; stderr: string }> {
  const path = join(dir, 'mqtt-webhook.service')
  writeFileSync(path, text)
  const result = await run('systemd-analyze', ['verify', path]).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  )
  return result
}

test('the systemd unit passes systemd-analyze verify without a word', async () => {
  assert.deepEqual(await verify(unit), { code: 0, stderr: '' })
  // The same check notices a mistyped key (it only warns, on stderr).
  const typo = await verify(unit.replace('Restart=on-failure', 'Restrt=on-failure'))
  assert.match(typo.stderr, /Unknown key 'Restrt'/)
})

test('the unit and the Dockerfile run node on the package bin, and set only variables the broker reads', () => {
  const bin = manifest.bin['mqtt-webhook'].replace(/^\.\//, '')
  assert.match(
    unit,
    new RegExp(`^ExecStart=/usr/bin/env node /\\S+/node_modules/mqtt-webhook/${bin} broker$`, 'm'),
  )
  assert.match(
    dockerfile,
    new RegExp(`^ENTRYPOINT \\["node", "/app/node_modules/mqtt-webhook/${bin}"\\]$`, 'm'),
  )
  const instructions = `${unit}\n${dockerfile}`
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
  assert.doesNotMatch(instructions, /\bnpx\b/)
  const known = new Set(Object.keys(BROKER.flags).map(envName))
  const used = new Set(
    [...`${unit}\n${dockerfile}`.matchAll(/\bMQTT_WEBHOOK_[A-Z_]+/g)].map(([name]) => name),
  )
  assert.deepEqual(
    [...used].filter((name) => !known.has(name)),
    [],
  )
  assert.ok(used.has('MQTT_WEBHOOK_CONFIG'))
})
