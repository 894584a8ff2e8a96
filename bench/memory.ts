/**
 * The memory part of `npm run bench`: RSS with the endpoint down at the default config, for 64 KiB payloads
 * (`rss_mb_endpoint_down_64k`), for a synchronous burst (`rss_mb_burst`) and for 1 MiB payloads to a
 * black-holed endpoint (`rss_mb_endpoint_down_1m`), each in a process of its own
 * (`rss-process.ts`; the 100-byte shape, `rss_mb_endpoint_down`, is the delivery part's).
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { BenchPart } from './part.ts'

interface RssFigures {
  rss_mb: number
  peak_rss_mb: number
  queued: number
  queued_bytes: number
  dropped_by_reason: Record<string, number>
}

export async function run(): Promise<BenchPart> {
  const big = await measure('64k')
  const burst = await measure('burst')
  const huge = await measure('1m')
  const mb = (value: number) => value.toFixed(0)
  return {
    rows: [
      ['RSS, 30,000 x 64 KiB, endpoint down (MB, target < 300)', mb(big.rss_mb)],
      ['  peak RSS during them (MB)', mb(big.peak_rss_mb)],
      ['  queued / bytes / dropped queue_bytes_full', summary(big)],
      ['RSS, 500,000 x 1 KB in one loop, endpoint down (MB, target < 300)', mb(burst.rss_mb)],
      ['  queued / bytes / dropped queue_bytes_full', summary(burst)],
      ['peak RSS, 400 x 1 MiB, endpoint black-holed (MB, target < 300)', mb(huge.rss_mb)],
      ['  queued / bytes / dropped queue_bytes_full', summary(huge)],
    ],
    results: {
      rss_mb_endpoint_down_64k: Number(big.rss_mb.toFixed(1)),
      rss_mb_burst: Number(burst.rss_mb.toFixed(1)),
      rss_mb_endpoint_down_1m: Number(huge.rss_mb.toFixed(1)),
    },
  }
}

function summary(figures: RssFigures): string {
  return `${figures.queued} / ${figures.queued_bytes} / ${figures.dropped_by_reason.queue_bytes_full}`
}

async function measure(shape: '64k' | 'burst' | '1m'): Promise<RssFigures> {
  const script = fileURLToPath(new URL('rss-process.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, shape], {
    maxBuffer: 1 << 20,
  })
  return JSON.parse(stdout.split('\n')[0] as string) as RssFigures
}
