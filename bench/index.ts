/**
 * `npm run bench`: every measurement of SPEC §8 in one run, as ratios against baselines measured in the
 * same run on the same machine. Prints a table, then `BENCH {json}` as the very last line.
 */
import type { BenchPart } from './part.ts'

const parts: Array<[name: string, load: () => Promise<{ run: () => Promise<BenchPart> }>, keys: string[]]> = [
  [
    'delivery',
    () => import('./delivery.ts'),
    [
      'delivery_events_per_s',
      'axios_loop_requests_per_s',
      'undici_loop_requests_per_s',
      'delivery_ratio',
      'base62_max_stall_ms',
      'rss_mb_endpoint_down',
    ],
  ],
  [
    'transport',
    () => import('./transport.ts'),
    ['transport_cpu_ratio', 'transport_undici_cpu_us', 'transport_sender_cpu_us'],
  ],
  [
    'flood',
    () => import('./flood.ts'),
    [
      'flood_nanomq_events_per_s',
      'flood_events_per_s',
      'flood_batch_events_per_s',
      'flood_ratio',
      'flood_batch_ratio',
      'flood_delivered_share',
    ],
  ],
  [
    'sustained',
    () => import('./sustained.ts'),
    ['sustained_events_per_s', 'sustained_batch_events_per_s', 'sustained_p99_ms'],
  ],
  ['start', () => import('./start.ts'), ['start_first_request_ms', 'start_ratio']],
  ['aedes', () => import('./aedes.ts'), ['aedes_ratio']],
  ['proxy', () => import('./proxy.ts'), ['proxy_ratio']],
  [
    'memory',
    () => import('./memory.ts'),
    ['rss_mb_endpoint_down_64k', 'rss_mb_burst', 'rss_mb_endpoint_down_1m'],
  ],
  [
    'durable',
    () => import('./durable.ts'),
    ['durable_flood_ratio', 'durable_flood_batch_ratio', 'durable_write_us_per_event'],
  ],
]

const results: Record<string, number | null> = {}
for (const [name, load, keys] of parts) {
  for (const key of keys) results[key] = null
  try {
    const part = await (await load()).run()
    console.log(`\n${name}`)
    for (const [label, value] of part.rows) console.log(`  ${label.padEnd(48)} ${value}`)
    Object.assign(results, part.results)
  } catch (error) {
    console.log(`\n${name}: not measured (${(error as Error).message})`)
  }
}
console.log(`BENCH ${JSON.stringify(results)}`)
