import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { encodeBase62 } from '../src/encoding/base62.ts'

const run = promisify(execFile)
const FORMAT_URL = new URL('../src/format.ts', import.meta.url).href

/**
 * Runs `body` as an ES module in a fresh Node process under tsx, as a user's program would be, and
 * returns its output. A process kept alive by a leftover handle fails by the timeout instead of hanging.
 */
async function runProgram(body: string): Promise<string> {
  const source = `import { serializeEvent, formatEvent } from ${JSON.stringify(FORMAT_URL)}\n${body}`
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', source],
    {
      timeout: 60_000,
    },
  )
  return stdout.trim()
}

const BIG_EVENT = `{ event: 'on_message_publish', ts: 1, topic: 't', qos: 0, retain: false, from_client_id: 'c',
  payload: Buffer.alloc(40000, 0xa5) }`

test('an idle base62 worker does not keep the process alive', async () => {
  const output = await runProgram(`
    const event = ${BIG_EVENT}
    const body = await serializeEvent(event, 'base62')
    console.log(body === JSON.stringify(formatEvent(event, { encoding: 'base62' })))
  `)
  assert.equal(output, 'true')
})

test('a pending base62 encoding keeps the process alive until it is done', async () => {
  // Nothing else holds the event loop: the pending encoding alone must keep the process alive until
  // the body is printed.
  const output = await runProgram(`
    const event = ${BIG_EVENT}
    const pending = serializeEvent(event, 'base62')
    if (typeof pending === 'string') throw new Error('expected the worker path')
    pending.then((body) => console.log(JSON.parse(body).payload.length))
  `)
  assert.equal(output, String(encodeBase62(Buffer.alloc(40000, 0xa5)).length))
})
