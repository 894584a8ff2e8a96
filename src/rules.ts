import type { ResolvedConfig } from './config-types.ts'
import type { HookEvent } from './events.ts'

/** Whether `event` fires under `rules` (topic filters, the `$SYS` rule); at most once however many match. */
export function createMatcher(_rules: ResolvedConfig['rules']): (event: HookEvent) => boolean {
  throw new Error('not implemented')
}
