import type { Logger } from '../../src/webhook-types.ts'

/** One call to a `recordingLogger`: its level, its fields object and its message (`undefined` when none). */
export interface LoggedLine {
  level: string
  obj: Record<string, unknown>
  msg: string | undefined
}

/** A `Logger` that keeps every line it is given, in order, in `lines`. */
export function recordingLogger(): Logger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = []
  const at = (level: string) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: obj as Record<string, unknown>, msg })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
