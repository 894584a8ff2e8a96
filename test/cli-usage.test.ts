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
async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cli = runCli(args, env)
  const code = await cli.exited
  return { code, stdout: cli.stdout.filter(Boolean), stderr: cli.stderr.filter(Boolean) }
}

// [arguments, the first line on stderr, whether the command's usage follows (mistakes on the command line)]
const mistakes: Array<readonly [string[], string, boolean]> = [
  [
    ['broker', '--prot', '1883'],
    'mqtt-webhook: unknown option --prot for broker: did you mean --port? (see mqtt-webhook broker --help)',
    true,
  ],
  [
    ['broker', '--drain-timout', '5s'],
    'mqtt-webhook: unknown option --drain-timout for broker: did you mean --drain-timeout? (see mqtt-webhook broker --help)',
    true,
  ],
  [
    ['proxy', '--metrics', '9100'],
    'mqtt-webhook: unknown option --metrics for proxy: did you mean --metrics-port? (see mqtt-webhook proxy --help)',
    true,
  ],
  [
    ['broker', '--zzz'],
    'mqtt-webhook: unknown option --zzz for broker (see mqtt-webhook broker --help)',
    true,
  ],
  [
    ['broker', '--config', good, '--port', '70000'],
    "mqtt-webhook: --port must be a port number (0-65535), got '70000'",
    false,
  ],
  [
    ['broker', '--config', good, '--drain-timeout', '1e10'],
    "mqtt-webhook: --drain-timeout must be at most 24d (2147483647ms, Node's longest timer), got '1e10'",
    false,
  ],
  [
    ['broker', '--config', good, '--drain-timeout', '25d'],
    "mqtt-webhook: --drain-timeout must be a duration such as 500ms, 10s or 5m (a bare number is seconds), got '25d'",
    false,
  ],
  [
    ['proxy', '--listen', ':0', '--upstream', ':1', '--config', good, '--status-interval', '0s'],
    "mqtt-webhook: --status-interval must be a positive duration such as 500ms, 10s or 5m (a bare number is seconds), got '0s'",
    false,
  ],
  [
    ['broker', '--config', good, '--log-level', 'loud'],
    "mqtt-webhook: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'",
    true,
  ],
  [
    ['broker'],
    'mqtt-webhook: broker needs --config FILE (or MQTT_WEBHOOK_CONFIG) (see mqtt-webhook broker --help)',
    true,
  ],
  [['broker', '--config'], 'mqtt-webhook: --config needs a value (see mqtt-webhook broker --help)', true],
  [
    ['broker', '--config', join(dir, 'missing.conf')],
    `mqtt-webhook: ${join(dir, 'missing.conf')}: cannot read the config file (no such file)`,
    false,
  ],
  [
    ['broker', '--config', broken],
    `mqtt-webhook: ${broken}:6:1: unexpected '}' in "webhook.events": is a ']' missing?`,
    false,
  ],
  [
    ['proxy', '--listen', '127.0.0.1', '--upstream', '127.0.0.1:1883', '--config', good],
    "mqtt-webhook: --listen must be HOST:PORT (e.g. 127.0.0.1:1883 or [::1]:1883), got '127.0.0.1'",
    false,
  ],
  [
    ['proxy', '--upstream', '127.0.0.1:1883', '--config', good],
    'mqtt-webhook: proxy needs --listen HOST:PORT (see mqtt-webhook proxy --help)',
    true,
  ],
  [
    ['receive', '--encoding', 'hex'],
    "mqtt-webhook: --encoding must be plain, base64 or base62, got 'hex'",
    true,
  ],
  [
    ['receive', '--secret', 'not-base64!'],
    'mqtt-webhook: --secret must be whsec_ followed by base64 (as the webhook config has it)',
    true,
  ],
  [['receive', 'extra'], "mqtt-webhook: unexpected argument 'extra' (see mqtt-webhook receive --help)", true],
  [
    ['brokr'],
    "mqtt-webhook: unknown command 'brokr': did you mean broker? (commands: broker, proxy, receive, queue, replay)",
    true,
  ],
]

// Each case is a process of its own: a few run at once, or the file would take most of a minute.
describe('bad flags and files', { concurrency: 3 }, () => {
  for (const [args, line, withUsage] of mistakes) {
    test(`'${args.join(' ')}' prints ${withUsage ? 'the line and the usage' : 'one line'} on stderr, exits 2`, async () => {
      const { code, stdout, stderr } = await run([...args])
      assert.deepEqual({ code, stdout, first: stderr[0] }, { code: 2, stdout: [], first: line })
      if (withUsage) assert.match(stderr[1] as string, /^Usage: mqtt-webhook /)
      else assert.equal(stderr.length, 1, stderr.join('\n'))
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

test('flags come from MQTT_WEBHOOK_* variables too; the command line wins', async () => {
  const fromEnv = await run(['broker'], { MQTT_WEBHOOK_CONFIG: good, MQTT_WEBHOOK_PORT: '70000' })
  assert.deepEqual(fromEnv, {
    code: 2,
    stdout: [],
    stderr: ["mqtt-webhook: --port must be a port number (0-65535), got '70000'"],
  })
  const overridden = await run(['broker', '--drain-timeout', 'soon'], {
    MQTT_WEBHOOK_CONFIG: good,
    MQTT_WEBHOOK_DRAIN_TIMEOUT: '5s',
  })
  assert.equal(overridden.code, 2)
  assert.match(overridden.stderr[0] as string, /^mqtt-webhook: --drain-timeout must be .* got 'soon'$/)
})

for (const command of ['broker', 'proxy', 'receive']) {
  test(`${command} --help prints its usage on stdout and exits 0`, async () => {
    const { code, stdout, stderr } = await run([command, '--help'])
    assert.equal(code, 0)
    assert.deepEqual(stderr, [])
    assert.match(stdout[0] as string, new RegExp(`^Usage: mqtt-webhook ${command} `))
    assert.ok(stdout.some((line) => line.trimStart().startsWith('-h, --help')))
    assert.ok(stdout.some((line) => /--\S+ from MQTT_WEBHOOK_[A-Z_]+,/.test(line)))
  })
}

test('mqtt-webhook --help prints the commands on stdout and exits 0', async () => {
  const { code, stdout, stderr } = await run(['--help'])
  assert.deepEqual(
    { code, stderr, first: stdout[0] },
    { code: 0, stderr: [], first: 'Usage: mqtt-webhook <command> [options]' },
  )
})

test('mqtt-webhook with no command is a usage error: the usage on stderr, exit 2', async () => {
  const { code, stdout, stderr } = await run([])
  assert.deepEqual(
    { code, stdout, first: stderr[0], usage: stderr.includes('Usage: mqtt-webhook <command> [options]') },
    { code: 2, stdout: [], first: 'mqtt-webhook: a command is needed', usage: true },
  )
})
