import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { runCli } from './helpers/cli-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-usage-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const broken = join(dir, 'broken.conf')
writeFileSync(
  broken,
  'webhook {\n  url = "http://127.0.0.1:8080/hook"\n  events = [\n    { event = on_client_connack }\n  \n}\n',
)
const badValue = join(dir, 'bad-value.conf')
writeFileSync(
  badValue,
  'webhook {\n  url = "ftp://127.0.0.1/hook"\n  events = [{ event = on_client_connack }]\n}\n',
)
const good = join(dir, 'good.conf')
writeFileSync(
  good,
  'webhook {\n  url = "http://127.0.0.1:8080/hook"\n  events = [{ event = on_client_connack }]\n}\n',
)

/** Runs the command and returns what a user sees: exit code, stdout and stderr lines. */
async function run(args: string[]) {
  const cli = runCli(args)
  const code = await cli.exited
  return { code, stdout: cli.stdout.filter(Boolean), stderr: cli.stderr.filter(Boolean) }
}

// Each case is a process of its own: a few run at once, or the file would take most of a minute.
describe('bad flags and files', { concurrency: 3 }, () => {
  for (const [args, line] of [
    [
      ['broker', '--prot', '1883'],
      'mqtt-webhook: unknown option --prot for broker (see mqtt-webhook broker --help)',
    ],
    [
      ['broker', '--config', good, '--port', '70000'],
      "mqtt-webhook: --port must be a port number (0-65535), got '70000'",
    ],
    [['broker'], 'mqtt-webhook: broker needs --config FILE (see mqtt-webhook broker --help)'],
    [['broker', '--config'], 'mqtt-webhook: --config needs a value (see mqtt-webhook broker --help)'],
    [
      ['broker', '--config', join(dir, 'missing.conf')],
      `mqtt-webhook: ${join(dir, 'missing.conf')}: cannot read the config file (no such file)`,
    ],
    [
      ['broker', '--config', broken],
      `mqtt-webhook: ${broken}:6:1: unexpected '}' in "webhook.events": is a ']' missing?`,
    ],
    [
      ['proxy', '--listen', '127.0.0.1', '--upstream', '127.0.0.1:1883', '--config', good],
      "mqtt-webhook: --listen must be HOST:PORT (e.g. 127.0.0.1:1883 or [::1]:1883), got '127.0.0.1'",
    ],
    [
      ['proxy', '--upstream', '127.0.0.1:1883', '--config', good],
      'mqtt-webhook: proxy needs --listen HOST:PORT (see mqtt-webhook proxy --help)',
    ],
    [['receive', '--encoding', 'hex'], "mqtt-webhook: --encoding must be plain, base64 or base62, got 'hex'"],
    [
      ['receive', '--secret', 'not-base64!'],
      'mqtt-webhook: --secret must be whsec_ followed by base64 (as the webhook config has it)',
    ],
    [['receive', 'extra'], "mqtt-webhook: unexpected argument 'extra' (see mqtt-webhook receive --help)"],
    [['brokr'], "mqtt-webhook: unknown command 'brokr' (commands: broker, proxy, receive)"],
  ] as const) {
    test(`'${args.join(' ')}' prints one line and exits 2`, async () => {
      assert.deepEqual(await run([...args]), { code: 2, stdout: [], stderr: [line] })
    })
  }
})

test('a config file with a bad value names the file, line, column and the key as written, and exits 2', async () => {
  const { code, stdout, stderr } = await run(['broker', '--config', badValue])
  assert.equal(code, 2)
  assert.deepEqual(stdout, [])
  assert.equal(stderr.length, 1)
  assert.match(
    stderr[0] as string,
    new RegExp(`^mqtt-webhook: ${badValue}:2:3: webhook\\.url: must use http: or https:`),
  )
})

for (const command of ['broker', 'proxy', 'receive']) {
  test(`${command} --help prints its usage and exits 0`, async () => {
    const { code, stdout, stderr } = await run([command, '--help'])
    assert.equal(code, 0)
    assert.deepEqual(stderr, [])
    assert.match(stdout[0] as string, new RegExp(`^Usage: mqtt-webhook ${command} `))
    assert.ok(stdout.some((line) => line.trimStart().startsWith('-h, --help')))
  })
}
