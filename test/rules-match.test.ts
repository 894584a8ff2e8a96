import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveConfig } from '../src/config.ts'
import type { EventRule } from '../src/config-types.ts'
import type { HookEvent } from '../src/events.ts'
import { createMatcher } from '../src/rules.ts'

function matcherFor(events: EventRule[]): (event: HookEvent) => boolean {
  return createMatcher(resolveConfig({ url: 'http://127.0.0.1:1/hook', events }).rules)
}

function publish(topic: string): HookEvent {
  return {
    event: 'on_message_publish',
    topic,
    qos: 0,
    retain: false,
    payload: Buffer.from('x'),
    from_client_id: 'c1',
  }
}

function delivered(topic: string): HookEvent {
  return { ...publish(topic), event: 'on_message_delivered', clientid: 'sub' } as HookEvent
}

function subscribe(topic: string): HookEvent {
  return { event: 'on_client_subscribe', clientid: 'c1', topic, opts: { qos: 1 } }
}

const connack: HookEvent = {
  event: 'on_client_connack',
  clientid: 'c1',
  proto_ver: 4,
  keepalive: 60,
  conn_ack: 'success',
}
const disconnected: HookEvent = { event: 'on_client_disconnected', clientid: 'c1', reason: 'normal' }

describe('createMatcher', () => {
  test('a non-topic event fires when it has a rule, and only then', () => {
    const matches = matcherFor([{ event: 'on_client_connack' }])
    assert.equal(matches(connack), true)
    assert.equal(matches(disconnected), false)
    assert.equal(matches(publish('a')), false)
  })

  test('a topic event without a topic filter fires for every topic', () => {
    const matches = matcherFor([{ event: 'on_message_publish' }])
    for (const topic of ['a', 'a/b/c', '/', 'x/+']) assert.equal(matches(publish(topic)), true, topic)
  })

  test('a topic event fires only for topics matching one of its filters', () => {
    const matches = matcherFor([
      { event: 'on_message_publish', topic: 'sensors/+/temp' },
      { event: 'on_message_publish', topic: 'alerts/#' },
      { event: 'on_message_publish', topic: 'exact/topic' },
    ])
    assert.equal(matches(publish('sensors/k1/temp')), true)
    assert.equal(matches(publish('sensors/k1/humidity')), false)
    assert.equal(matches(publish('alerts')), true)
    assert.equal(matches(publish('alerts/fire/floor2')), true)
    assert.equal(matches(publish('exact/topic')), true)
    assert.equal(matches(publish('exact/topic/more')), false)
    assert.equal(matches(publish('other')), false)
  })

  test('a rule without topic for an event overrides that event’s filters, whatever the order', () => {
    for (const events of [
      [{ event: 'on_message_publish', topic: 'a' }, { event: 'on_message_publish' }],
      [{ event: 'on_message_publish' }, { event: 'on_message_publish', topic: 'a' }],
    ] satisfies EventRule[][]) {
      const matches = matcherFor(events)
      assert.equal(matches(publish('b/c')), true)
    }
  })

  test('filters belong to their event: another event’s filter does not widen or narrow it', () => {
    const matches = matcherFor([
      { event: 'on_message_publish', topic: 'a/#' },
      { event: 'on_message_delivered', topic: 'b/#' },
    ])
    assert.equal(matches(publish('a/1')), true)
    assert.equal(matches(publish('b/1')), false)
    assert.equal(matches(delivered('b/1')), true)
    assert.equal(matches(delivered('a/1')), false)
  })

  test('message events on $SYS never fire, even under a rule that names $SYS', () => {
    const matches = matcherFor([
      { event: 'on_message_publish' },
      { event: 'on_message_delivered', topic: '$SYS/#' },
      { event: 'on_message_acked', topic: '#' },
    ])
    assert.equal(matches(publish('$SYS/broker/uptime')), false)
    assert.equal(matches(publish('$SYS')), false)
    assert.equal(matches(delivered('$SYS/broker/clients')), false)
    assert.equal(matches({ ...delivered('$SYS/x'), event: 'on_message_acked' } as HookEvent), false)
    // Only `$SYS` itself is the broker's: other `$` topics fire under a filter that names them.
    assert.equal(matches(publish('$SYSTEM/x')), true)
    assert.equal(matches(publish('$share/g/t')), true)
    assert.equal(matches(publish('a/$SYS/b')), true)
  })

  test('a subscription filter is matched literally, as EMQX does', () => {
    const matches = matcherFor([{ event: 'on_client_subscribe', topic: 'a/+' }])
    assert.equal(matches(subscribe('a/b')), true)
    assert.equal(matches(subscribe('a/+')), true)
    assert.equal(matches(subscribe('a/#')), true)
    assert.equal(matches(subscribe('a/b/c')), false)
    assert.equal(matches(subscribe('#')), false)
  })

  test('subscriptions to $SYS fire (only message events are held back)', () => {
    const matches = matcherFor([
      { event: 'on_client_subscribe' },
      { event: 'on_session_subscribed', topic: '$SYS/#' },
    ])
    assert.equal(matches(subscribe('$SYS/#')), true)
    assert.equal(
      matches({ event: 'on_session_subscribed', clientid: 'c1', topic: '$SYS/broker/+', opts: { qos: 0 } }),
      true,
    )
  })

  test('an event fires once however many rules match it', () => {
    const matches = matcherFor([
      { event: 'on_message_publish', topic: 'a/b' },
      { event: 'on_message_publish', topic: 'a/+' },
      { event: 'on_message_publish', topic: '#' },
      { event: 'on_message_publish', topic: 'a/b' },
    ])
    assert.equal(matches(publish('a/b')), true)
    assert.deepEqual(
      resolveConfig({
        url: 'http://127.0.0.1/',
        events: [
          { event: 'on_message_publish', topic: 'a/b' },
          { event: 'on_message_publish', topic: 'a/b' },
        ],
      }).rules,
      new Map([['on_message_publish', ['a/b']]]),
    )
  })

  test('bad events from JavaScript callers are not matched and do not throw', () => {
    const matches = matcherFor([
      { event: 'on_message_publish', topic: 'a/#' },
      { event: 'on_client_connack' },
    ])
    const bad = [
      undefined,
      null,
      {},
      { event: 'on_nothing' },
      { event: 'on_message_publish' },
      { event: 'on_message_publish', topic: 42 },
      { event: 'toString' },
      { event: '__proto__' },
    ] as unknown as HookEvent[]
    for (const event of bad) assert.equal(matches(event), false, JSON.stringify(event))
  })

  test('a disabled webhook’s empty rules match nothing', () => {
    const matches = createMatcher(resolveConfig({ enable: false } as never).rules)
    assert.equal(matches(connack), false)
    assert.equal(matches(publish('a')), false)
  })
})
