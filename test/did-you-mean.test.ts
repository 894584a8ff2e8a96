import assert from 'node:assert/strict'
import { test } from 'node:test'
import { closestName } from '../src/did-you-mean.ts'

test('closestName picks the nearest plausible config key, or none', () => {
  const names = ['pool_size', 'max_queue', 'events', 'cacertfile']
  assert.equal(closestName('pool-size', names), 'pool_size')
  assert.equal(closestName('POOL_SIZE', names), 'pool_size')
  assert.equal(closestName('event', names), 'events')
  assert.equal(closestName('cacert', names), 'cacertfile')
  assert.equal(closestName('zzz', names), undefined)
  assert.equal(closestName('x', []), undefined)
  // A short word gets one edit: two would turn any two letters into any other two.
  assert.equal(closestName('qs', ['id', 'ts']), 'ts')
  assert.equal(closestName('qs', ['id']), undefined)
  // Swapped letters are two edits; a word of three letters still gets them.
  assert.equal(closestName('ulr', ['url', 'events']), 'url')
})

test('closestName serves CLI commands and flags with the same rule', () => {
  const commands = ['broker', 'proxy', 'receive', 'queue', 'replay']
  assert.equal(closestName('brokr', commands), 'broker')
  assert.equal(closestName('replya', commands), 'replay')
  assert.equal(closestName('serve', commands), undefined)
  const flags = [
    'config',
    'drain-timeout',
    'metrics-port',
    'metrics-host',
    'port',
    'status-interval',
    'log-level',
  ]
  assert.equal(closestName('cofnig', flags), 'config')
  assert.equal(closestName('drain-timout', flags), 'drain-timeout')
  assert.equal(closestName('status', flags), 'status-interval')
  assert.equal(closestName('prot', flags), 'port')
  assert.equal(closestName('metrics', flags), 'metrics-port')
  assert.equal(closestName('loglevel', flags), 'log-level')
  assert.equal(closestName('verbose', flags), undefined)
})
