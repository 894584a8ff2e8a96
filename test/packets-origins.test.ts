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

test('MessageOrigins is bounded by bytes (lru-cache): the least recently used publish goes first', () => {
  const origins = new MessageOrigins(1_000)
  origins.remember('t', Buffer.from('1'), alice)
  origins.remember('t', Buffer.from('2'), alice)
  origins.remember('t', Buffer.from('3'), bob)
  assert.deepEqual(origins.find('t', Buffer.from('1')), alice, 'a lookup makes it recent')
  for (let i = 0; i < 3; i++) origins.remember(`u/${i}`, Buffer.from('x'), bob)
  assert.ok(origins.size <= 1_000, `${origins.size} bytes counted`)
  assert.equal(origins.find('t', Buffer.from('2')), undefined, 'the least recently used went first')
  assert.deepEqual(origins.find('t', Buffer.from('1')), alice)
  assert.deepEqual(origins.find('u/2', Buffer.from('x')), bob)
})

test('MessageOrigins stays within its bytes whatever the topics and payloads', () => {
  const origins = new MessageOrigins(64 * 1024)
  for (let i = 0; i < 20_000; i++)
    origins.remember(`topic/${'x'.repeat(i % 200)}/${i}`, Buffer.alloc(i % 300, i), {
      clientid: `client-${i}`,
      username: 'u'.repeat(i % 50),
    })
  assert.ok(origins.size <= 64 * 1024, `${origins.size} bytes counted`)
  assert.ok(origins.size > 32 * 1024, 'the budget is used, not wasted')
  assert.deepEqual(
    origins.find(`topic/${'x'.repeat(19_999 % 200)}/19999`, Buffer.alloc(19_999 % 300, 19_999)),
    {
      clientid: 'client-19999',
      username: 'u'.repeat(19_999 % 50),
    },
  )
})
