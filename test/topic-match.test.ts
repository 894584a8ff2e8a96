import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { topicMatches, validateTopicFilter } from '../src/topic.ts'

// [filter, topic, matches]
const MATCH_TABLE: Array<[string, string, boolean]> = [
  ['a/b', 'a/b', true],
  ['a/b', 'a/c', false],
  ['a/b', 'a/b/c', false],
  ['a/b', 'a', false],
  ['a/b', 'A/b', false],
  ['+', 'a', true],
  ['+', 'a/b', false],
  ['+', '', true],
  ['+/+', 'a/b', true],
  ['+/+', 'a', false],
  ['a/+', 'a/b', true],
  ['a/+', 'a/', true],
  ['a/+', 'a', false],
  ['a/+', 'a/b/c', false],
  ['a/+/c', 'a/b/c', true],
  ['a/+/c', 'a/b/d', false],
  ['a/+/c', 'a//c', true],
  ['+/b', '/b', true],
  ['/+', '/a', true],
  ['#', 'a', true],
  ['#', 'a/b/c', true],
  ['#', '/', true],
  ['a/#', 'a', true],
  ['a/#', 'a/', true],
  ['a/#', 'a/b', true],
  ['a/#', 'a/b/c', true],
  ['a/#', 'ab', false],
  ['a/#', 'b/a', false],
  ['a/b/#', 'a', false],
  ['+/#', 'a', true],
  ['+/#', 'a/b/c', true],
  ['+/b/#', 'x/b', true],
  ['+/b/#', 'x/c/b', false],
  // A filter starting with a wildcard never matches a topic starting with `$`...
  ['#', '$SYS/broker/uptime', false],
  ['+/broker/uptime', '$SYS/broker/uptime', false],
  ['+', '$SYS', false],
  ['+/#', '$share/x', false],
  // ...but one that names the `$` level does, and so do later wildcards.
  ['$SYS/#', '$SYS/broker/uptime', true],
  ['$SYS/+/uptime', '$SYS/broker/uptime', true],
  ['$SYS', '$SYS', true],
  // `$` only matters as the first character of the topic.
  ['a/+', 'a/$x', true],
  ['#', 'a/$SYS', true],
  // The topic is literal: wildcards in it are ordinary levels (a client's subscription filter).
  ['a/+', 'a/+', true],
  ['a/+', 'a/#', true],
  ['a/#', 'a/+/c', true],
  ['a/b', 'a/+', false],
  ['a/+/c', 'a/#', false],
  ['#', '#', true],
  // Unicode levels are compared by value.
  ['säule/+', 'säule/ü', true],
  ['säule/+', 'saule/ü', false],
]

describe('topicMatches', () => {
  for (const [filter, topic, expected] of MATCH_TABLE) {
    test(`${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      assert.equal(topicMatches(filter, topic), expected)
    })
  }

  test('the table is at least 30 cases and every filter in it is valid', () => {
    assert.ok(MATCH_TABLE.length >= 30)
    for (const [filter] of MATCH_TABLE) assert.equal(validateTopicFilter(filter), undefined, filter)
  })
})

describe('validateTopicFilter', () => {
  const valid = [
    'a',
    'a/b',
    '/',
    '//',
    'a/',
    '/a',
    '+',
    '#',
    '+/+',
    'a/+/b',
    'a/#',
    '+/#',
    '$SYS/#',
    ' ',
    'ü/€',
  ]
  for (const filter of valid) {
    test(`${JSON.stringify(filter)} is valid`, () => {
      assert.equal(validateTopicFilter(filter), undefined)
    })
  }

  const invalid: Array<[unknown, string]> = [
    ['', 'must not be empty'],
    ['a/#/b', "'#' must be the last level (in 'a/#/b')"],
    ['#/a', "'#' must be the last level (in '#/a')"],
    ['a#', "'#' must occupy a whole level (in 'a#')"],
    ['#a', "'#' must occupy a whole level (in '#a')"],
    ['a/b#', "'#' must occupy a whole level (in 'a/b#')"],
    ['##', "'#' must occupy a whole level (in '##')"],
    ['a+', "'+' must occupy a whole level (in 'a+')"],
    ['+a/b', "'+' must occupy a whole level (in '+a/b')"],
    ['a/++', "'+' must occupy a whole level (in 'a/++')"],
    ['a\u0000b', 'must not contain a NUL character'],
    ['x'.repeat(65_536), 'must be at most 65535 bytes'],
    [42, 'must be a string, got number'],
    [null, 'must be a string, got null'],
    [['a'], 'must be a string, got an array'],
  ]
  for (const [filter, reason] of invalid) {
    test(`${JSON.stringify(filter).slice(0, 20)} is invalid: ${reason}`, () => {
      assert.equal(validateTopicFilter(filter), reason)
    })
  }

  test('the byte limit counts UTF-8 bytes, not characters', () => {
    assert.equal(validateTopicFilter('é'.repeat(32_767)), undefined)
    assert.equal(validateTopicFilter('é'.repeat(32_768)), 'must be at most 65535 bytes')
  })
})
