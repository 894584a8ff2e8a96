import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import type { PayloadEncoding } from '../src/config-types.ts'
import type { ClientUnsubscribeEvent, HookEvent } from '../src/events.ts'
import { formatEvent, serializeEvent } from '../src/format.ts'

interface FixtureCase {
  note: string
  encoding: PayloadEncoding
  event: Record<string, unknown> & { payload_hex?: string }
  nanomq_body: string
}

/** Bodies NanoMQ 0.25.3 really sent (a copy of shared/fixtures), with the inputs that produced them. */
const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/nanomq-0.25.3-bodies.json', import.meta.url), 'utf8'),
) as { cases: FixtureCase[] }

function eventOf(fixture: FixtureCase): HookEvent {
  const { payload_hex, ...fields } = fixture.event
  const event = payload_hex === undefined ? fields : { ...fields, payload: Buffer.from(payload_hex, 'hex') }
  return event as unknown as HookEvent
}

function body(event: HookEvent, encoding: PayloadEncoding = 'plain'): string {
  return JSON.stringify(formatEvent(event, { encoding }))
}

describe('formatEvent: the bodies NanoMQ 0.25.3 sent', () => {
  test('the fixture file has cases for all three NanoMQ events', () => {
    const events = new Set(fixtures.cases.map((fixture) => fixture.event.event))
    assert.deepEqual([...events].sort(), [
      'on_client_connack',
      'on_client_disconnected',
      'on_message_publish',
    ])
  })

  for (const fixture of fixtures.cases) {
    test(`${fixture.event.event}, ${fixture.note} (${fixture.encoding})`, () => {
      const event = eventOf(fixture)
      assert.equal(body(event, fixture.encoding), fixture.nanomq_body)
      assert.equal(serializeEvent(event, fixture.encoding), fixture.nanomq_body)
    })
  }
})

describe('formatEvent: the SPEC §4 examples', () => {
  test('on_client_connack', () => {
    const event: HookEvent = {
      event: 'on_client_connack',
      clientid: 'c1',
      username: 'u1',
      proto_ver: 4,
      keepalive: 60,
      conn_ack: 'success',
    }
    assert.equal(
      body(event),
      '{"proto_ver":4,"keepalive":60,"conn_ack":"success","username":"u1","clientid":"c1","action":"client_connack"}',
    )
  })

  test('on_client_disconnected', () => {
    const event: HookEvent = {
      event: 'on_client_disconnected',
      clientid: 'c1',
      username: 'u1',
      reason: 'normal',
    }
    assert.equal(
      body(event),
      '{"reason":"normal","username":"u1","clientid":"c1","action":"client_disconnected"}',
    )
  })

  test('on_message_publish', () => {
    const event: HookEvent = {
      event: 'on_message_publish',
      ts: 1706703724960,
      topic: 'a/b',
      retain: false,
      qos: 1,
      from_username: 'u1',
      from_client_id: 'c1',
      payload: Buffer.from('hello'),
    }
    assert.equal(
      body(event),
      '{"ts":1706703724960,"topic":"a/b","retain":false,"qos":1,"action":"message_publish","from_username":"u1","from_client_id":"c1","payload":"hello"}',
    )
  })

  test('a message the broker published itself', () => {
    const event: HookEvent = {
      event: 'on_message_publish',
      ts: 1,
      topic: 't',
      retain: true,
      qos: 0,
      from_client_id: null,
      payload: Buffer.from('x'),
    }
    assert.deepEqual(formatEvent(event), {
      ts: 1,
      topic: 't',
      retain: true,
      qos: 0,
      action: 'message_publish',
      from_username: 'undefined',
      from_client_id: null,
      payload: 'x',
    })
  })
})

describe('formatEvent: the nine EMQX-style events', () => {
  const cases: Array<[HookEvent, string]> = [
    [
      {
        event: 'on_client_connect',
        clientid: 'c1',
        username: 'u1',
        ipaddress: '127.0.0.1',
        keepalive: 30,
        proto_ver: 5,
      },
      '{"action":"client_connect","clientid":"c1","username":"u1","ipaddress":"127.0.0.1","keepalive":30,"proto_ver":5}',
    ],
    [
      {
        event: 'on_client_connected',
        clientid: 'c1',
        username: 'u1',
        ipaddress: '::1',
        keepalive: 60,
        proto_ver: 4,
        connected_at: 1706703724960,
      },
      '{"action":"client_connected","clientid":"c1","username":"u1","ipaddress":"::1","keepalive":60,"proto_ver":4,"connected_at":1706703724960}',
    ],
    [
      { event: 'on_client_subscribe', clientid: 'c1', username: 'u1', topic: 'a/+', opts: { qos: 2 } },
      '{"action":"client_subscribe","clientid":"c1","username":"u1","topic":"a/+","opts":{"qos":2}}',
    ],
    [
      { event: 'on_client_unsubscribe', clientid: 'c1', username: 'u1', topic: 'a/#' },
      '{"action":"client_unsubscribe","clientid":"c1","username":"u1","topic":"a/#","opts":{}}',
    ],
    [
      { event: 'on_session_subscribed', clientid: 'c1', username: 'u1', topic: 'a/+', opts: { qos: 1 } },
      '{"action":"session_subscribed","clientid":"c1","username":"u1","topic":"a/+","opts":{"qos":1}}',
    ],
    [
      { event: 'on_session_unsubscribed', clientid: 'c1', username: 'u1', topic: 'a/#' },
      '{"action":"session_unsubscribed","clientid":"c1","username":"u1","topic":"a/#"}',
    ],
    [
      { event: 'on_session_terminated', clientid: 'c1', username: 'u1', reason: 'takenover' },
      '{"action":"session_terminated","clientid":"c1","username":"u1","reason":"takenover"}',
    ],
    [
      {
        event: 'on_message_delivered',
        clientid: 'sub1',
        username: 'u2',
        from_client_id: 'c1',
        from_username: 'u1',
        topic: 'a/b',
        qos: 1,
        retain: false,
        payload: Buffer.from('hi'),
        ts: 1706703724961,
      },
      '{"action":"message_delivered","clientid":"sub1","username":"u2","from_client_id":"c1","from_username":"u1","topic":"a/b","qos":1,"retain":false,"payload":"hi","ts":1706703724961}',
    ],
    [
      {
        event: 'on_message_acked',
        clientid: 'sub1',
        username: 'u2',
        from_client_id: 'c1',
        from_username: 'u1',
        topic: 'a/b',
        qos: 2,
        retain: true,
        payload: Buffer.from('hi'),
        ts: 1706703724962,
      },
      '{"action":"message_acked","clientid":"sub1","username":"u2","from_client_id":"c1","from_username":"u1","topic":"a/b","qos":2,"retain":true,"payload":"hi","ts":1706703724962}',
    ],
  ]
  for (const [event, expected] of cases) {
    test(event.event, () => {
      assert.equal(body(event), expected)
      assert.equal(serializeEvent(event, 'plain'), expected)
    })
  }

  test('absent username and ipaddress become "undefined" and null', () => {
    const event: HookEvent = { event: 'on_client_connect', clientid: 'c9', keepalive: 0, proto_ver: 3 }
    assert.equal(
      body(event),
      '{"action":"client_connect","clientid":"c9","username":"undefined","ipaddress":null,"keepalive":0,"proto_ver":3}',
    )
  })

  test('a message delivered from the broker itself, to a client without username', () => {
    const event: HookEvent = {
      event: 'on_message_delivered',
      clientid: 'sub1',
      from_client_id: null,
      topic: 't',
      qos: 0,
      retain: false,
      payload: new Uint8Array(0),
      ts: 5,
    }
    assert.equal(
      body(event, 'base62'),
      '{"action":"message_delivered","clientid":"sub1","username":"undefined","from_client_id":null,"from_username":"undefined","topic":"t","qos":0,"retain":false,"payload":"","ts":5}',
    )
  })

  test('client_unsubscribe has opts {} even when the event carries other opts', () => {
    const event = {
      event: 'on_client_unsubscribe',
      clientid: 'c',
      topic: 't',
      opts: { qos: 1 },
    } as unknown as ClientUnsubscribeEvent
    assert.deepEqual(formatEvent(event).opts, {})
  })
})

describe('formatEvent: times', () => {
  test('an absent ts or connected_at is the time of formatting, in whole ms', () => {
    const before = Date.now()
    const published = formatEvent({
      event: 'on_message_publish',
      topic: 't',
      qos: 0,
      retain: false,
      from_client_id: 'c',
      payload: Buffer.alloc(0),
    })
    const connected = formatEvent({ event: 'on_client_connected', clientid: 'c', keepalive: 1, proto_ver: 4 })
    const after = Date.now()
    for (const time of [published.ts, connected.connected_at]) {
      assert.equal(typeof time, 'number')
      assert.ok(
        Number.isInteger(time) && (time as number) >= before && (time as number) <= after,
        String(time),
      )
    }
  })

  test('a ts of zero is kept', () => {
    const event: HookEvent = {
      event: 'on_message_publish',
      ts: 0,
      topic: 't',
      qos: 0,
      retain: false,
      from_client_id: 'c',
      payload: Buffer.alloc(0),
    }
    assert.equal(formatEvent(event).ts, 0)
  })
})
