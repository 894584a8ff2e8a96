/**
 * `mqtt-webhook/metrics`: a webhook's `stats()` as Prometheus metrics, through `prom-client` (an optional
 * peer dependency: only this entry point loads it).
 *
 * ```ts
 * import { Registry } from 'prom-client'
 * import { registerWebhookMetrics } from 'mqtt-webhook/metrics'
 * const registry = new Registry()
 * registerWebhookMetrics(webhook, { registry })
 * // serve `await registry.metrics()` with `registry.contentType`
 * ```
 * @module
 */
import { Counter, Gauge, register as globalRegistry, Histogram, type Registry } from 'prom-client'
import type { RequestDurationStats, Webhook, WebhookStats } from './webhook-types.ts'

/** One sample of a metric: a value, with labels when the metric has some. */
export interface MetricSample {
  /** Label values by label name; none for a metric without labels. */
  labels?: Record<string, string>
  /** The sample's value: a count, or a gauge's current value. */
  value: number
}

/**
 * How one metric is read from `stats()`. The table {@link WEBHOOK_METRICS} is the whole mapping: a new
 * stats field becomes a metric by adding one entry.
 */
export type WebhookMetricSpec = SampledMetricSpec | HistogramMetricSpec

/** What every metric spec has. */
interface MetricSpecBase {
  /** The name after the prefix, following Prometheus conventions (`_total` for counters, base units). */
  name: string
  /** The `# HELP` line. */
  help: string
}

/** A counter or a gauge, read as samples. */
export interface SampledMetricSpec extends MetricSpecBase {
  /** `counter` for totals since creation, `gauge` for values now. */
  type: 'counter' | 'gauge'
  /** The names of its labels, e.g. `['reason']`. */
  labelNames?: readonly string[]
  /** The samples from a stats snapshot; `undefined` when this webhook's stats lack the field (not registered then). */
  read(stats: WebhookStats): MetricSample[] | undefined
}

/** A histogram without labels, read whole (bounds, cumulative counts, sum, count). */
export interface HistogramMetricSpec extends MetricSpecBase {
  /** A histogram, its buckets cumulative since creation. */
  type: 'histogram'
  /** The histogram from a stats snapshot; `undefined` when this webhook's stats lack the field (not registered then). */
  read(stats: WebhookStats): RequestDurationStats | undefined
}

const one = (value: number | undefined): MetricSample[] | undefined =>
  value === undefined ? undefined : [{ value }]

/** A stats field that not every webhook has (it depends on the configuration, or came later). */
function optional(stats: WebhookStats, name: string): unknown {
  return (stats as unknown as Record<string, unknown>)[name]
}
const numberField = (stats: WebhookStats, name: string): MetricSample[] | undefined => {
  const value = optional(stats, name)
  return typeof value === 'number' ? [{ value }] : undefined
}

/** One sample per event name, of a `*_by_event` field; `undefined` when the stats lack it. */
function byEvent(counts: Partial<Record<string, number>> | undefined): MetricSample[] | undefined {
  if (counts === undefined) return undefined
  return Object.entries(counts).map(([event, value]) => ({ labels: { event }, value: value ?? 0 }))
}

/** One sample per reason, of a `*_by_reason` field; `undefined` when the stats lack it. */
function byReason(counts: Record<string, number> | undefined): MetricSample[] | undefined {
  if (counts === undefined) return undefined
  return Object.entries(counts).map(([reason, value]) => ({ labels: { reason }, value }))
}

/** One sample per event name and reason, of a `*_by_event` field split by reason. */
function byEventAndReason(
  counts: Partial<Record<string, Record<string, number>>> | undefined,
): MetricSample[] | undefined {
  if (counts === undefined) return undefined
  return Object.entries(counts).flatMap(([event, reasons]) =>
    Object.entries(reasons ?? {}).map(([reason, value]) => ({ labels: { event, reason }, value })),
  )
}

/** Every metric `registerWebhookMetrics` registers; `docs/metrics.md` maps them to EMQX's names. */
export const WEBHOOK_METRICS: readonly WebhookMetricSpec[] = [
  {
    name: 'events_matched_total',
    type: 'counter',
    help: 'Events that matched a rule, by event name.',
    labelNames: ['event'],
    read: (stats) =>
      Object.entries(stats.events).map(([event, counts]) => ({ labels: { event }, value: counts.matched })),
  },
  {
    name: 'events_delivered_total',
    type: 'counter',
    help: 'Events delivered with a 2xx response, by event name.',
    labelNames: ['event'],
    read: (stats) => byEvent(stats.delivered_by_event) ?? one(stats.success),
  },
  {
    name: 'events_failed_total',
    type: 'counter',
    help: 'Events given up on after their last attempt, by event name and reason (http_4xx, http_5xx, http_other, timeout, network, tls, other).',
    labelNames: ['event', 'reason'],
    // A webhook whose stats do not split its failures still has them counted, with the labels it has.
    read: (stats) =>
      byEventAndReason(stats.failed_by_event) ?? byReason(stats.failed_by_reason) ?? one(stats.failed),
  },
  {
    name: 'request_duration_seconds',
    type: 'histogram',
    help: 'How long HTTP attempts took, to their response or error, in seconds (retries included).',
    read: (stats) => stats.request_duration_seconds,
  },
  {
    name: 'retries_total',
    type: 'counter',
    help: 'Attempts that were retried, by event name (a batch retried counts each of its events).',
    labelNames: ['event'],
    read: (stats) => byEvent(stats.retried_by_event) ?? one(stats.retried),
  },
  {
    name: 'events_dropped_total',
    type: 'counter',
    help: 'Events dropped without delivery, by event name and reason (queue_full, queue_bytes_full, closed).',
    labelNames: ['event', 'reason'],
    read: (stats) => byEventAndReason(stats.dropped_by_event) ?? byReason(stats.dropped_by_reason),
  },
  {
    name: 'queued_events',
    type: 'gauge',
    help: 'Events waiting now (not in flight, including those waiting for a retry).',
    read: (stats) => one(stats.queued),
  },
  {
    name: 'queued_bytes',
    type: 'gauge',
    help: 'Bytes of the events waiting now.',
    read: (stats) => numberField(stats, 'queued_bytes'),
  },
  {
    name: 'endpoint_paused',
    type: 'gauge',
    help: '1 while the endpoint is paused (Retry-After, or its circuit open after repeated failures), else 0.',
    read: (stats) => {
      const paused = optional(stats, 'paused')
      return typeof paused === 'boolean' ? [{ value: paused ? 1 : 0 }] : undefined
    },
  },
  {
    name: 'endpoint_paused_until_timestamp_seconds',
    type: 'gauge',
    help: 'Until when the endpoint is paused, in Unix seconds; 0 when it is not.',
    read: (stats) => {
      const until = optional(stats, 'paused_until')
      if (until === undefined) return undefined
      return [{ value: typeof until === 'number' ? until / 1000 : 0 }]
    },
  },
  {
    name: 'inflight_requests',
    type: 'gauge',
    help: 'Requests in flight now.',
    read: (stats) => one(stats.inflight),
  },
  {
    name: 'inflight_bytes',
    type: 'gauge',
    help: 'Bytes of the events in flight now (with queued_bytes, bounded by max_queue_bytes).',
    read: (stats) => numberField(stats, 'inflight_bytes'),
  },
  {
    name: 'errors_total',
    type: 'counter',
    help: 'Problems not about one delivery: bad input to handle(), adapter errors.',
    read: (stats) => one(stats.errors),
  },
]

/** Where {@link registerWebhookMetrics} registers, and under which names. */
export interface WebhookMetricsOptions {
  /**
   * The registry the metrics are registered in.
   * @default prom-client's global `register`
   */
  registry?: Registry | undefined
  /**
   * Prepended to every metric name; give each webhook of one registry its own.
   * @default 'mqtt_webhook_'
   */
  prefix?: string | undefined
}

/**
 * Registers {@link WEBHOOK_METRICS} for `webhook` in a prom-client registry. Values are read from one
 * `webhook.stats()` snapshot per scrape; nothing is counted on the delivery path. Returns a function
 * that removes them again.
 * @throws Error from prom-client when a metric of the same name is already registered (use `prefix`).
 */
export function registerWebhookMetrics(webhook: Webhook, options: WebhookMetricsOptions = {}): () => void {
  const registry = options.registry ?? globalRegistry
  const prefix = options.prefix ?? 'mqtt_webhook_'
  let snapshot: WebhookStats | undefined
  // prom-client runs every metric's collect() in one pass per scrape: they share one snapshot.
  const read = (): WebhookStats => {
    if (snapshot === undefined) {
      snapshot = webhook.stats()
      setImmediate(() => {
        snapshot = undefined
      })
    }
    return snapshot
  }
  const initial = webhook.stats()
  const names: string[] = []
  const unregister = () => {
    for (const name of names) registry.removeSingleMetric(name)
  }
  try {
    for (const spec of WEBHOOK_METRICS) {
      if (spec.read(initial) === undefined) continue
      const name = prefix + spec.name
      const common = {
        name,
        help: spec.help,
        labelNames: spec.type === 'histogram' ? [] : [...(spec.labelNames ?? [])],
        registers: [registry],
      }
      if (spec.type === 'histogram') {
        const histogram = snapshotHistogram(spec, read, name, spec.help)
        new histogram({ ...common, buckets: [...(spec.read(initial)?.buckets ?? [])] })
      } else if (spec.type === 'counter')
        new Counter({
          ...common,
          collect() {
            this.reset()
            for (const sample of spec.read(read()) ?? []) this.inc(sample.labels ?? {}, sample.value)
          },
        })
      else
        new Gauge({
          ...common,
          collect() {
            this.reset()
            for (const sample of spec.read(read()) ?? []) this.set(sample.labels ?? {}, sample.value)
          },
        })
      names.push(name)
    }
  } catch (error) {
    // A clash half-way leaves the registry as it was.
    unregister()
    throw error
  }
  return unregister
}

/** What a histogram's `get()` resolves with, as the registry reads it. */
type HistogramData = Awaited<ReturnType<Histogram['get']>>

/**
 * A prom-client Histogram whose values come whole from a stats snapshot: the durations are observed on the
 * delivery side (per attempt, allocation-free), so `get()`, which the registry calls per scrape, reports
 * them rather than observing anything here.
 */
function snapshotHistogram(
  spec: HistogramMetricSpec,
  read: () => WebhookStats,
  name: string,
  help: string,
): typeof Histogram {
  const data = (): HistogramData => {
    const histogram = spec.read(read())
    const values: HistogramData['values'] = []
    if (histogram !== undefined) {
      const bucket = `${name}_bucket`
      histogram.buckets.forEach((le, i) => {
        values.push({ metricName: bucket, labels: { le }, value: histogram.counts[i] ?? 0 })
      })
      values.push(
        { metricName: bucket, labels: { le: '+Inf' }, value: histogram.count },
        { metricName: `${name}_sum`, labels: {}, value: histogram.sum },
        { metricName: `${name}_count`, labels: {}, value: histogram.count },
      )
    }
    return {
      name,
      help,
      type: 'histogram' as unknown as HistogramData['type'],
      values,
      aggregator: 'sum',
      collect() {},
    }
  }
  return class SnapshotHistogram extends Histogram {
    override async get(): Promise<HistogramData> {
      return data()
    }

    // The registry formats the exposition from this one when a metric has it.
    async getForPromString(): Promise<HistogramData> {
      return data()
    }
  }
}
