/** Small figures helpers shared by the bench parts. */

/** The middle value; for an even count, the mean of the two middle values. NaN when empty. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

/** The upper of the two middle values for an even count (the middle one for an odd count). NaN when empty. */
export function upperMedian(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** `null` in place of NaN, so that a figure that could not be measured is JSON `null`. */
export function nullIfNaN(value: number): number | null {
  return Number.isNaN(value) ? null : value
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits: number): number {
  return Number(value.toFixed(digits))
}
