/** What one part of the benchmark reports. */
export interface BenchPart {
  /** Lines for people: a label and a value, already formatted. */
  rows: Array<[label: string, value: string]>
  /** Keys of the final `BENCH` line (SPEC §8); `null` for what was not measured. */
  results: Record<string, number | null>
}
