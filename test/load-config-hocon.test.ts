import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type HoconObject,
  type HoconValue,
  includesOf,
  locationOf,
  parseHocon,
} from '../src/load-config/hocon.ts'
import { detectFormat } from '../src/load-config/index.ts'

test('unquoted values keep their ://, # and +; a comment needs a space before it', () => {
  const text = [
    'webhook {',
    '  url = http://127.0.0.1:8080/hook?x=1  # where to post',
    '  events = [',
    '    { event = on_message_publish, topic = a/# }  // every a/ topic',
    '    { event = on_message_publish, topic = +/status }',
    '  ]',
    '}',
  ].join('\n')
  assert.deepEqual(parseHocon(text, 'f'), {
    webhook: {
      url: 'http://127.0.0.1:8080/hook?x=1',
      events: [
        { event: 'on_message_publish', topic: 'a/#' },
        { event: 'on_message_publish', topic: '+/status' },
      ],
    },
  })
})

test('types: numbers, booleans, null, strings that look like sizes and durations', () => {
  assert.deepEqual(
    parseHocon('a = 32\nb = 1.25\nc = true\nd = false\ne = null\nf = 1KB\ng = 10s\nh = -3', 'f'),
    {
      a: 32,
      b: 1.25,
      c: true,
      d: false,
      e: null,
      f: '1KB',
      g: '10s',
      h: -3,
    },
  )
})

test('dotted keys, quoted keys, root braces, colons, and blocks given twice are merged', () => {
  const text =
    '{\n  webhook.headers.x-a: "1"\n  webhook { "headers"."x.b" = "2", pool_size = 4 }\n  webhook.pool_size = 5\n}\n'
  assert.deepEqual(parseHocon(text, 'f'), { webhook: { headers: { 'x-a': '1', 'x.b': '2' }, pool_size: 5 } })
})

test('escapes, triple-quoted strings, CRLF line ends and a byte order mark', () => {
  const text = '\uFEFFa = "tab\\there \\"q\\" \\u00e9"\r\nb = """raw \\n "quoted" text"""\r\n'
  assert.deepEqual(parseHocon(text, 'f'), { a: 'tab\there "q" é', b: 'raw \\n "quoted" text' })
})

test('a __proto__ key is data, not a prototype change', () => {
  const parsed = parseHocon('__proto__ { polluted = true }', 'f')
  assert.deepEqual(Object.keys(parsed), ['__proto__'])
  assert.equal(({} as { polluted?: boolean }).polluted, undefined)
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype)
})

test('the format is told by content, never by file name', () => {
  assert.equal(detectFormat('{"url": "http://x/", "events": []}'), 'json')
  assert.equal(detectFormat('{\n  webhook { url = "http://x/" }\n}'), 'hocon')
  assert.equal(detectFormat('webhook {\n  url = "http://x/"\n}'), 'hocon')
  assert.equal(detectFormat('daemon=false\nweb.hook.url=http://x/\n'), 'legacy')
  assert.equal(detectFormat('daemon=false\n# web.hook.url=http://x/\n'), 'legacy')
  assert.equal(
    detectFormat('webhook.url = "http://x/"\nwebhook.events = [{ event = on_client_connack }]\n'),
    'hocon',
  )
})

test("NanoMQ's leniencies: arrays without =, a [ on the next line, single-quoted strings", () => {
  const text = [
    'bridge.mqtt {',
    '  nodes [',
    '    { name = a, subscription',
    '      [',
    '        { topic = "t/1" }',
    '      ]',
    '    }',
    '  ]',
    '}',
    "topic = 'nmq/#'",
  ].join('\n')
  assert.deepEqual(parseHocon(text, 'f'), {
    bridge: { mqtt: { nodes: [{ name: 'a', subscription: [{ topic: 't/1' }] }] } },
    topic: 'nmq/#',
  })
})

test('where each key and element was written, and the include lines of a block', () => {
  const text =
    'webhook {\n  url = "x"\n  events = [\n    { event = a }\n  ]\n}\nauth.password = {\n  include "pwd.conf"\n}\n'
  const root = parseHocon(text, 'f')
  const webhook = root.webhook as HoconObject
  assert.deepEqual(locationOf(root, 'webhook'), { line: 1, column: 1, key: 'webhook' })
  assert.deepEqual(locationOf(webhook, 'url'), { line: 2, column: 3, key: 'webhook.url' })
  const events = webhook.events as HoconValue[]
  assert.deepEqual(locationOf(events, 0), { line: 4, column: 5, key: 'webhook.events[0]' })
  assert.deepEqual(locationOf(events[0] as HoconObject, 'event'), {
    line: 4,
    column: 7,
    key: 'webhook.events[0].event',
  })
  const password = (root.auth as HoconObject).password as HoconObject
  assert.deepEqual(includesOf(password), [
    { line: 8, column: 3, key: 'auth.password.include', path: 'pwd.conf' },
  ])
})
