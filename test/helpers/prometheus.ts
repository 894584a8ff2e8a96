/**
 * A strict reader of Prometheus' text exposition format (0.0.4): what a scraper accepts, and no more.
 * Throws on any line it does not understand, on a sample of a family with no `# TYPE`, a family declared
 * twice, a duplicate series, a bad name, label or value, a counter not named `_total`.
 */
export interface MetricFamily {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const SUFFIXES: Record<MetricFamily['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
}

export function parseExposition(text: string): Map<string, MetricFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed')
  const families = new Map<string, MetricFamily>()
  const series = new Set<string>()
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`
    if (line === '') return
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`)
      const family = families.get(name) ?? { name, type: 'untyped' as const, help: '', samples: [] }
      if (family.samples.length > 0) throw new Error(`${where}: ${kind} after the family's samples`)
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`${where}: unknown type`)
        family.type = rest as MetricFamily['type']
        if (family.type === 'counter' && !name.endsWith('_total'))
          throw new Error(`${where}: a counter's name must end in _total`)
      } else family.help = rest
      families.set(name, family)
      return
    }
    if (line.startsWith('#')) return
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line)
    if (!sample) throw new Error(`${where}: not a sample`)
    const [, name, , labelText, valueText] = sample as unknown as [string, string, string, string, string]
    const family = [...families.values()].find((candidate) =>
      SUFFIXES[candidate.type].some((suffix) => candidate.name + suffix === name),
    )
    if (family === undefined) throw new Error(`${where}: a sample with no # TYPE before it`)
    const labels = parseLabels(labelText ?? '', where)
    const value = parseValue(valueText, where)
    const key = `${name}{${Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}}`
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`)
    series.add(key)
    family.samples.push({ name, labels, value })
  })
  return families
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest !== '') {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest)
    if (!match) throw new Error(`${where}: bad labels at ${JSON.stringify(rest)}`)
    const [whole, name, escaped] = match as unknown as [string, string, string]
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name ${name}`)
    if (name in labels) throw new Error(`${where}: label ${name} twice`)
    labels[name] = escaped.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
    rest = rest.slice(whole.length)
  }
  return labels
}

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value`)
  return Number(text)
}

/** The value of the one sample of `name` with exactly these labels; throws when there is none. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  for (const family of families.values())
    for (const sample of family.samples)
      if (
        sample.name === name &&
        Object.keys(sample.labels).length === Object.keys(labels).length &&
        Object.entries(labels).every(([k, v]) => sample.labels[k] === v)
      )
        return sample.value
  throw new Error(`no sample ${name}${JSON.stringify(labels)}`)
}

/**
 * The sum of the samples named `name` whose labels include `labels` (others may differ): what PromQL's
 * `sum(name{labels})` gives, e.g. failures of one reason over every event name.
 */
export function sampleSum(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0
  let found = false
  for (const family of families.values())
    for (const sample of family.samples)
      if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) {
        sum += sample.value
        found = true
      }
  if (!found) throw new Error(`no sample ${name}${JSON.stringify(labels)}`)
  return sum
}
