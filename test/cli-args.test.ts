import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type CommandSpec,
  envName,
  MAX_TIMER_MS,
  parseCommand,
  parseDuration,
  UsageError,
  usage,
} from '../src/cli/args.ts'
import { RECEIVE } from '../src/cli/receive.ts'

const SPEC: CommandSpec = {
  name: 'demo',
  synopsis: '[options]',
  description: 'A demo.',
  flags: {
    'drain-timeout': { type: 'string', value: 'DURATION', default: '10s', help: 'wait' },
    secret: { type: 'string', multiple: true, help: 'secrets' },
    raw: { type: 'boolean', help: 'raw' },
  },
}

test('durations: units, a bare number in seconds, and nothing past the timer limit', () => {
  assert.equal(parseDuration('--d', '500ms'), 500)
  assert.equal(parseDuration('--d', '10s'), 10_000)
  assert.equal(parseDuration('--d', '1.5m'), 90_000)
  assert.equal(parseDuration('--d', '2h'), 7_200_000)
  assert.equal(parseDuration('--d', '10'), 10_000)
  assert.equal(parseDuration('--d', '0.2'), 200)
  assert.equal(parseDuration('--d', '0', { allowZero: true }), 0)
  assert.equal(parseDuration('--d', `${MAX_TIMER_MS}ms`), MAX_TIMER_MS)
  for (const bad of ['0', '-1s', '10 parsecs', '', 'Infinity', 'NaN', '1e400'])
    assert.throws(() => parseDuration('--d', bad), UsageError, bad)
  for (const tooLong of [`${MAX_TIMER_MS + 1}ms`, '1e10', '25d', '600h'])
    assert.throws(() => parseDuration('--d', tooLong), UsageError, tooLong)
})

test('the command line wins over MQTT_WEBHOOK_* variables, which win over defaults', () => {
  const env = {
    MQTT_WEBHOOK_DRAIN_TIMEOUT: '3s',
    MQTT_WEBHOOK_SECRET: 'whsec_a, whsec_b',
    MQTT_WEBHOOK_RAW: 'yes',
  }
  assert.deepEqual(parseCommand(SPEC, [], env).values, {
    'drain-timeout': '3s',
    secret: ['whsec_a', 'whsec_b'],
    raw: true,
  })
  assert.deepEqual(parseCommand(SPEC, ['--drain-timeout', '1s', '--secret', 'whsec_c'], env).values, {
    'drain-timeout': '1s',
    secret: ['whsec_c'],
    raw: true,
  })
  assert.deepEqual(parseCommand(SPEC, [], {}).values, {
    'drain-timeout': '10s',
    secret: undefined,
    raw: undefined,
  })
  assert.throws(() => parseCommand(SPEC, [], { MQTT_WEBHOOK_RAW: 'perhaps' }), {
    message: "MQTT_WEBHOOK_RAW must be true or false, got 'perhaps'",
  })
  assert.equal(envName('metrics-port'), 'MQTT_WEBHOOK_METRICS_PORT')
})

test('--help anywhere wins; the usage lists every option with its variable rule', () => {
  assert.deepEqual(parseCommand(SPEC, ['--nonsense', '--help']), { help: true, values: {} })
  const text = usage(RECEIVE)
  for (const flag of Object.keys(RECEIVE.flags)) assert.match(text, new RegExp(`--${flag}\\b`))
  assert.match(text, /--host from MQTT_WEBHOOK_HOST,/)
})
