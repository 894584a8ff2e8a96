import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'

/** A fresh directory under the system's temp dir, removed after the test. */
export function tempDir(t: TestContext, name = 'mqtt-webhook-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), name))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A real small file system: a tmpfs of `sizeKiB` (read-only with `readOnly`), unmounted after the test.
 * Needs root (mount, as on the CI machine): elsewhere it throws, and the test says why.
 */
export function smallFileSystem(t: TestContext, sizeKiB: number, readOnly = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-tmpfs-'))
  const mountPoint = join(dir, 'fs')
  mkdirSync(mountPoint)
  const options = `size=${sizeKiB}k${readOnly ? ',ro' : ''}`
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mountPoint], { stdio: 'pipe' })
  t.after(() => {
    execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' })
    rmSync(dir, { recursive: true, force: true })
  })
  return mountPoint
}
