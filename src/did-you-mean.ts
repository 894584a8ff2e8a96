/**
 * "Did you mean …?" for config keys, event names, CLI commands and flags: one rule for all of them, so a
 * typo gets the same help wherever it is made.
 */
import { distance } from 'fastest-levenshtein'

/**
 * The closest of `candidates` to `name`, when it is close enough to be a plausible misspelling: a few
 * edits away (a third of its length, at least two; one for a word of two letters), or a shortening of it (`cacert` for `cacertfile`,
 * `--metrics` for `--metrics-port`). Case is ignored. `undefined` when none is plausible.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase()
  // Two edits turn any two letters into any other two: a word that short gets one.
  const allowed = wanted.length <= 2 ? 1 : Math.max(2, Math.floor(wanted.length / 3))
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const lowered = candidate.toLowerCase()
    const edits = distance(wanted, lowered)
    const plausible = edits <= allowed || (wanted.length >= 3 && lowered.startsWith(wanted))
    if (plausible && edits < bestDistance) {
      best = candidate
      bestDistance = edits
    }
  }
  return best
}
