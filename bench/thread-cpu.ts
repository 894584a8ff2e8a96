/**
 * CPU time of the calling process's main thread alone, where Linux tells it (`/proc`): with the delivery
 * thread, the process's CPU time mixes the broker's work with the sender's, and wall time adds the moments
 * the broker's thread waited for a core. `undefined` elsewhere.
 */
import { readFileSync } from 'node:fs'

/** Microseconds of user + system time of the main thread so far. */
export function mainThreadCpuUs(): number | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? (ticks * 1e6) / CLOCK_TICKS_PER_S : undefined
  } catch {
    return undefined
  }
}

/** `getconf CLK_TCK`: 100 on every Linux that Node supports. */
const CLOCK_TICKS_PER_S = 100
