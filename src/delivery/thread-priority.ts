/**
 * The delivery thread's share of the CPU. The broker comes first: on a machine with few cores, the
 * delivery thread, the garbage collector's helper threads and the endpoint all want the core the broker's
 * thread is on, and every moment the broker waits for it slows its clients. Events can wait instead: the
 * queue absorbs the difference.
 */
import { execFile } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { WebhookConfigError } from '../errors.ts'
import type { DeliveryPriority } from '../webhook-types.ts'

/** The lowest nice value: what `idle` falls back to when the scheduling policy cannot be changed. */
const LOWEST_NICENESS = 19

/** `options.deliveryPriority`, checked: options may come from code that TypeScript never saw. */
export function resolveDeliveryPriority(value: unknown): DeliveryPriority {
  if (value === undefined) return 'idle'
  if (value === 'idle' || value === 'normal') return value
  const got = typeof value === 'string' ? `'${value}'` : typeof value
  throw new WebhookConfigError('deliveryPriority', `must be 'idle' or 'normal', got ${got}`)
}

/**
 * Lowers the calling thread's priority as `priority` says. Linux only: there a thread has its own nice
 * value and scheduling policy, while elsewhere the call would reach the whole process, the broker's thread
 * with it. Whatever is not permitted is left as it is.
 */
export function applyDeliveryPriority(priority: DeliveryPriority): void {
  if (process.platform !== 'linux' || priority === 'normal') return
  try {
    setPriority(0, LOWEST_NICENESS)
  } catch {
    return
  }
  // Measured under aedes on 2 cores: the broker's thread waited for a core 6–9% of its time with this
  // thread at SCHED_IDLE, 8–9% at nice 19, 12–22% at nice 10. A core that runs only SCHED_IDLE work counts
  // as free when a thread wakes, so the collector's helpers and the endpoint go there rather than preempt
  // the broker. Node has no call for the policy; util-linux's `chrt` sets it for this thread alone.
  const thread = threadId()
  if (thread !== undefined) execFile('chrt', ['--idle', '--pid', '0', thread], { timeout: 5000 }, () => {})
}

/** The kernel's id of the calling thread (not Node's `threadId`). */
function threadId(): string | undefined {
  try {
    return readlinkSync('/proc/thread-self').split('/').pop()
  } catch {
    return undefined
  }
}
