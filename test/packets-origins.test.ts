import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MessageOrigins } from '../src/adapters/packets/origins.ts'

const alice = { clientid: 'alice', username: 'a' }
const bob = { clientid: 'bob', username: undefined }

test('MessageOrigins names the latest publisher of the same topic and payload, small or large', () => {
  const origins = new MessageOrigins()
  const large = Buffer.alloc(10_000, 7)
  origins.remember('t', Buffer.from('one'), alice)
  origins.remember('t', Buffer.from('two'), bob)
  origins.remember('big', large, alice)
  assert.deepEqual(origins.find('t', Buffer.from('one')), alice)
  assert.deepEqual(origins.find('t', Buffer.from('two')), bob)
  assert.deepEqual(origins.find('big', Buffer.from(large)), alice)
  assert.equal(origins.find('big', Buffer.alloc(10_000, 8)), undefined)
  assert.equal(origins.find('t', Buffer.from('three')), undefined)
  assert.equal(origins.find('other', Buffer.from('one')), undefined)
  origins.remember('t', Buffer.from('one'), bob)
  assert.deepEqual(origins.find('t', Buffer.from('one')), bob)
})

test('MessageOrigins forgets: a bounded number of publishes per topic and of topics', () => {
  const origins = new MessageOrigins(2, 2)
  origins.remember('t', Buffer.from('1'), alice)
  origins.remember('t', Buffer.from('2'), alice)
  origins.remember('t', Buffer.from('3'), bob)
  assert.equal(origins.find('t', Buffer.from('1')), undefined)
  assert.deepEqual(origins.find('t', Buffer.from('3')), bob)
  origins.remember('u', Buffer.from('x'), alice)
  origins.remember('v', Buffer.from('y'), bob)
  assert.equal(
    origins.find('t', Buffer.from('2')),
    undefined,
    'the least recently published topic went first',
  )
  assert.deepEqual(origins.find('u', Buffer.from('x')), alice)
  assert.deepEqual(origins.find('v', Buffer.from('y')), bob)
})
