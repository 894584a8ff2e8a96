import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import type { WebhookConfig } from '../src/config-types.ts'
import { loadConfig, WebhookConfigError } from '../src/index.ts'
import { ConfigFileError, ConfigSyntaxError } from '../src/load-config/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let count = 0
/** Writes `text` to a fresh file and returns its path. */
function file(text: string, extension = 'conf'): string {
  const path = join(dir, `case-${count++}.${extension}`)
  writeFileSync(path, text)
  return path
}

/** The error `loadConfig` throws for `text`, checked to be a syntax error at `line`:`column`. */
function syntaxError(text: string, line: number, column: number, reason: string): void {
  const path = file(text)
  assert.throws(
    () => loadConfig(path),
    (error: unknown) => {
      assert.ok(error instanceof ConfigSyntaxError)
      assert.ok(error instanceof WebhookConfigError)
      assert.equal(error.message, `${path}:${line}:${column}: ${reason}`)
      assert.deepEqual([error.file, error.line, error.column], [path, line, column])
      return true
    },
  )
}

test('a block that is never closed points at its opening brace', () => {
  syntaxError('# hooks\nwebhook {\n  url = "http://127.0.0.1/h"\n', 2, 9, "this '{' is never closed")
})

test('a string that is never closed points at its opening quote', () => {
  syntaxError('webhook {\n  url = "http://127.0.0.1/h\n}\n', 2, 9, 'this string is never closed (missing ")')
})

test('a key without a value', () => {
  syntaxError(
    'webhook {\n  url = "http://x/"\n  pool_size =\n}\n',
    3,
    14,
    'missing value for "webhook.pool_size"',
  )
})

test('a key without = or {', () => {
  syntaxError('webhook {\n\tpool_size 32\n}\n', 2, 12, `expected '=', ':' or '{' after "webhook.pool_size"`)
})

test('two list elements on one line with no comma', () => {
  syntaxError(
    'webhook {\n  events = [ { event = on_client_connack } { event = on_message_publish } ]\n}\n',
    2,
    44,
    `expected ',' or a new line between the elements of "webhook.events"`,
  )
})

test('two fields on one line with no comma', () => {
  syntaxError(
    'webhook { url = "http://x/" pool_size = 3 }\n',
    1,
    29,
    `expected a new line, ',' or '}' after the value of "webhook.url"`,
  )
})

test('a substitution is refused, not half-supported', () => {
  syntaxError(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a HOCON substitution, on purpose
    'webhook {\n  url = ${HOOK_URL}\n}\n',
    2,
    9,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the message quotes HOCON syntax
    'substitutions (${...}) are not supported (in "webhook.url")',
  )
})

test('an include inside the webhook block is refused; outside it, it is skipped', () => {
  syntaxError(
    'webhook {\n  include "/etc/hooks.conf"\n}\n',
    2,
    3,
    'include is not supported inside webhook { }: write the settings here',
  )
})

test('a bad escape in a string', () => {
  syntaxError('webhook {\n  url = "http://x/\\q"\n}\n', 2, 19, 'invalid escape "\\q" in a string')
})

test('broken JSON is reported by line and column too', () => {
  syntaxError(
    '{\n  "webhook": {\n    "url": "http://x/",\n    "events": [\n  }\n}\n',
    5,
    3,
    `unexpected '}' in "webhook.events": is a ']' missing?`,
  )
})

test('a legacy rule that is not an object, or a broken one, points into the value', () => {
  const notObject = file(
    'web.hook.url=http://127.0.0.1/h\nweb.hook.rule.message.publish.1 = on_message_publish\n',
  )
  assert.throws(() => loadConfig(notObject), {
    name: 'ConfigSyntaxError',
    message: `${notObject}:2:35: the rule web.hook.rule.message.publish.1 must be a JSON object like {"action": "on_message_publish", "topic": "a/#"}`,
  })
  const broken = file(
    'web.hook.url=http://127.0.0.1/h\nweb.hook.rule.message.publish.1={"action": "on_message_publish" "topic": "a/b"}\n',
  )
  assert.throws(() => loadConfig(broken), {
    name: 'ConfigSyntaxError',
    message: `${broken}:2:65: expected a new line, ',' or '}' after the value of "action"`,
  })
})

test('an unknown legacy key is named, with its line and column', () => {
  const path = file('web.hook.url=http://127.0.0.1/h\n  web.hook.pool=4\n')
  assert.throws(
    () => loadConfig(path),
    (error: unknown) => {
      assert.ok(error instanceof ConfigFileError)
      assert.equal(error.key, 'web.hook.pool')
      assert.deepEqual([error.file, error.line, error.column], [path, 2, 3])
      assert.match(
        error.message,
        /^.*:2:3: web\.hook\.pool: unknown key; the web\.hook keys are enable, url, /,
      )
      return true
    },
  )
})

test('a legacy file whose web.hook lines are all commented out says so', () => {
  const path = file(
    'url=nmq-tcp://0.0.0.0:1883\n## web.hook.url=http://127.0.0.1:80\n#web.hook.rule.client.connack.1={"action": "on_client_connack"}\n',
  )
  assert.throws(() => loadConfig(path), {
    name: 'WebhookConfigError',
    message: `${path}: no web.hook.* settings found (are they all commented out?)`,
  })
})

test('a nanomq.conf without a webhook block says so', () => {
  const path = file('mqtt {\n  max_packet_size = 1KB\n}\n')
  assert.throws(() => loadConfig(path), {
    name: 'WebhookConfigError',
    message: `${path}: no webhook settings found: expected a webhook { ... } block, web.hook.* lines, or a JSON object`,
  })
})

test('a missing file is named, with the reason', () => {
  const path = join(dir, 'missing.conf')
  assert.throws(() => loadConfig(path), {
    name: 'WebhookConfigError',
    message: `${path}: cannot read the config file (no such file)`,
  })
})

/** What `resolveConfig` (what createWebhook uses) says about `config`. */
function validationError(config: unknown): WebhookConfigError {
  try {
    resolveConfig(config as WebhookConfig)
  } catch (error) {
    assert.ok(error instanceof WebhookConfigError)
    return error
  }
  assert.fail('resolveConfig accepted a bad config')
}

for (const [title, block, config, [line, column, written]] of [
  [
    'a non-positive pool_size',
    'webhook {\n  url = "http://127.0.0.1/h"\n  pool_size = 0\n  events = [{ event = on_client_connack }]\n}\n',
    { url: 'http://127.0.0.1/h', pool_size: 0, events: [{ event: 'on_client_connack' }] },
    [3, 3, 'webhook.pool_size'],
  ],
  [
    'an unknown key inside the webhook block',
    'webhook {\n  url = "http://127.0.0.1/h"\n  pool = 4\n  events = [{ event = on_client_connack }]\n}\n',
    { url: 'http://127.0.0.1/h', pool: 4, events: [{ event: 'on_client_connack' }] },
    [3, 3, 'webhook.pool'],
  ],
  [
    'a bad topic filter in an events element',
    'webhook {\n  url = "http://127.0.0.1/h"\n  events = [\n    { event = on_client_connack }\n    { event = on_message_publish, topic = "a/#/b" }\n  ]\n}\n',
    {
      url: 'http://127.0.0.1/h',
      events: [{ event: 'on_client_connack' }, { event: 'on_message_publish', topic: 'a/#/b' }],
    },
    [5, 35, 'webhook.events[1].topic'],
  ],
  [
    'an unknown event in a 0.14-style rule key',
    'webhook {\n  enable = true\n  url = "http://127.0.0.1/h"\n}\nwebhook.rule.client.conack = [{action: on_client_conack}]\n',
    { url: 'http://127.0.0.1/h', enable: true, events: [{ event: 'on_client_conack' }] },
    [5, 32, 'webhook.rule.client.conack[0].action'],
  ],
  [
    'an unknown event in a legacy rule',
    'web.hook.url=http://127.0.0.1/h\nweb.hook.rule.client.conack.1={"action": "on_client_conack"}\n',
    { url: 'http://127.0.0.1/h', events: [{ event: 'on_client_conack' }] },
    [2, 1, 'web.hook.rule.client.conack.1'],
  ],
  [
    'a JSON config with a bad url',
    '{\n  "url": "ftp://127.0.0.1/h",\n  "events": [{ "event": "on_client_connack" }]\n}\n',
    { url: 'ftp://127.0.0.1/h', events: [{ event: 'on_client_connack' }] },
    [2, 3, 'url'],
  ],
] as const) {
  test(`${title}: createWebhook's reason, at the file, line and column, with the key as written`, () => {
    const expected = validationError(config)
    const path = file(block)
    assert.throws(
      () => loadConfig(path),
      (error: unknown) => {
        assert.ok(error instanceof ConfigFileError)
        assert.ok(error instanceof WebhookConfigError)
        assert.equal(error.key, written)
        assert.equal(error.reason, expected.reason)
        assert.equal(error.message, `${path}:${line}:${column}: ${written}: ${expected.reason}`)
        return true
      },
    )
  })
}

test('legacy web.hook.ssl.* lines become tls; server_name_indication = disable means send none', () => {
  const ssl = file(
    'web.hook.url=https://127.0.0.1:8443/h\nweb.hook.ssl.verify=true\nweb.hook.ssl.server_name_indication=hooks.test\nweb.hook.rule.client.connack.1={"action": "on_client_connack"}\n',
  )
  assert.deepEqual(loadConfig(ssl), {
    url: 'https://127.0.0.1:8443/h',
    tls: { verify_peer: true, server_name_indication: 'hooks.test' },
    events: [{ event: 'on_client_connack' }],
  })
  const disabled = file(
    'web.hook.url=https://127.0.0.1:8443/h\nweb.hook.ssl.server_name_indication=disable\nweb.hook.rule.client.connack.1={"action": "on_client_connack"}\n',
  )
  assert.deepEqual(loadConfig(disabled), {
    url: 'https://127.0.0.1:8443/h',
    tls: { server_name_indication: false },
    events: [{ event: 'on_client_connack' }],
  })
})

test('an ssl { } block in HOCON is read as the tls alias, as NanoMQ does', () => {
  const path = file(
    'webhook {\n  url = "https://127.0.0.1:8443/h"\n  ssl {\n    verify_peer = true\n  }\n  events = [{ event = on_client_connack }]\n}\n',
  )
  assert.deepEqual(loadConfig(path), {
    url: 'https://127.0.0.1:8443/h',
    ssl: { verify_peer: true },
    events: [{ event: 'on_client_connack' }],
  })
})

test('a legacy file as NanoMQ ships it (web.hook.enable=false, every rule commented out) loads, disabled', () => {
  const path = file(
    'web.hook.enable=false\nweb.hook.url=http://127.0.0.1:80\nweb.hook.headers.content-type=application/json\nweb.hook.pool_size=32\n#web.hook.rule.client.connect.1={"action": "on_client_connect"}\n',
  )
  assert.deepEqual(loadConfig(path), {
    enable: false,
    url: 'http://127.0.0.1:80',
    headers: { 'content-type': 'application/json' },
    pool_size: 32,
    events: [],
  })
})
