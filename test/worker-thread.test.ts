import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inheritableExecArgv } from '../src/worker-thread.ts'

// The end-to-end case (`node --input-type=module -e` with the built package) is in package.test.ts: from
// source, tsx starts workers from an eval'd bootstrap, which takes the flag without complaint.
test('a worker takes the parent Node options except --input-type, in either spelling', () => {
  assert.deepEqual(inheritableExecArgv(['--input-type=module', '-e', 'x']), ['-e', 'x'])
  assert.deepEqual(inheritableExecArgv(['--import', 'tsx', '--input-type', 'module']), ['--import', 'tsx'])
  assert.deepEqual(inheritableExecArgv(['--max-old-space-size=600']), ['--max-old-space-size=600'])
})
