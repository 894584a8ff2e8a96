import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startCustomServer } from '../examples/custom-server.ts'
import { plain, runScenario, scenarioDone, sortEvents } from './helpers/mqtt-scenario.ts'
import { recordingWebhook } from './helpers/recording-webhook.ts'

for (const protocolVersion of [4, 5] as const) {
  test(`examples/custom-server.ts with createPacketObserver, MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}: every event`, async (t) => {
    const webhook = recordingWebhook()
    const server = await startCustomServer({ webhook })
    t.after(() => server.close())
    const suffix = `custom-v${protocolVersion}`
    const expected = await runScenario({ url: server.url, protocolVersion, ipaddress: '127.0.0.1', suffix })
    await webhook.waitFor(scenarioDone(suffix))
    assert.deepEqual(plain(webhook.events), sortEvents(expected))
    assert.deepEqual(webhook.errors, [])
  })
}
