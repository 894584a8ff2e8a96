import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { describe, type TestContext, test } from 'node:test'
import { Worker } from 'node:worker_threads'
import { BrokerLoadSampler } from '../src/delivery/thread-priority.ts'
import { LOAD_SAMPLE_MS, LOAD_STALE_MS } from '../src/delivery/thread-protocol.ts'
import { WebhookConfigError } from '../src/errors.ts'
import { createWebhook } from '../src/webhook.ts'
import type { DeliveryPriority, Webhook } from '../src/webhook-types.ts'
import { publish, publishBody, waitFor, webhookFor } from './helpers/delivery.ts'
import { startReceiver } from './helpers/receiver.ts'

/** Linux scheduling policies, as `sched_setscheduler(2)` numbers them. */
const SCHED_OTHER = 0
const SCHED_IDLE = 5

interface ThreadScheduling {
  tid: number
  nice: number
  policy: number
}

/** How Linux schedules each thread of this process: fields 19 (nice) and 41 (policy) of its `stat`. */
function threadsOfThisProcess(): ThreadScheduling[] {
  const threads: ThreadScheduling[] = []
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // it ended meanwhile
    }
    // After the command name (which may hold spaces) comes field 3, so field n is at n - 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    threads.push({ tid: Number(tid), nice: Number(fields[16]), policy: Number(fields[38]) })
  }
  return threads
}

const idleThreads = () => threadsOfThisProcess().filter((thread) => thread.policy === SCHED_IDLE)
/** Threads below the process's priority in either way: nice above 0, or another policy. */
const loweredThreads = () =>
  threadsOfThisProcess().filter((thread) => thread.nice !== 0 || thread.policy !== SCHED_OTHER)
const mainThread = () => threadsOfThisProcess().find((thread) => thread.tid === process.pid)

const notLinux = process.platform !== 'linux' && 'threads have their own priority on Linux only'
const chrtMissing = (() => {
  try {
    execFileSync('chrt', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'chrt (util-linux) is not installed; apt-get install -y util-linux'
  }
})()

/** A webhook whose delivery thread has started and delivered one event. */
async function deliveringWebhook(t: TestContext, deliveryPriority?: DeliveryPriority): Promise<Webhook> {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url }, deliveryPriority ? { deliveryPriority } : {})
  webhook.handle(publish(1))
  await webhook.flush()
  assert.equal(receiver.requests.length, 1)
  return webhook
}

describe('the delivery thread yields the CPU to the broker', { skip: notLinux }, () => {
  test('by default it runs at SCHED_IDLE, and the broker thread keeps its priority', {
    skip: chrtMissing,
  }, async (t) => {
    assert.deepEqual(idleThreads(), [], 'no thread is idle before the webhook starts')
    const webhook = await deliveringWebhook(t)
    await waitFor(() => idleThreads().length === 1, 'one thread at SCHED_IDLE')
    assert.deepEqual(mainThread(), { tid: process.pid, nice: 0, policy: SCHED_OTHER })
    await webhook.close()
    await waitFor(() => idleThreads().length === 0, 'the idle thread gone with the webhook')
  })

  test('events waiting over a second make it compete on equal terms, until nothing waits', {
    skip: chrtMissing,
  }, async (t) => {
    const { receiver, webhook } = await slowFirstAnswer(t)
    webhook.handle(publish(2))
    webhook.handle(publish(3))
    const lowered = () =>
      threadsOfThisProcess().filter((thread) => thread.nice !== 0 || thread.policy !== SCHED_OTHER)
    await waitFor(() => lowered().length === 0, 'the delivery thread back at the process priority', 5000)
    assert.equal(receiver.accepted.length, 0, 'while the backlog was there')
    await webhook.flush()
    await waitFor(() => idleThreads().length === 1, 'SCHED_IDLE again once nothing waits')
    assert.equal(receiver.accepted.length, 3)
  })

  test('raised, it stays raised under a steady stream that never waits, and yields once the stream ends', {
    skip: chrtMissing,
  }, async (t) => {
    const { receiver, webhook } = await slowFirstAnswer(t)
    webhook.handle(publish(2))
    await waitFor(
      () => loweredThreads().length === 0,
      'the delivery thread back at the process priority',
      5000,
    )
    await waitFor(() => receiver.accepted.length === 2, 'the backlog delivered')
    // A steady stream: an event every 100 ms, each answered at once, so the queue is empty at nearly every
    // tick of the governor, its one connection busy or idle in turn. Nothing waits, yet the load goes on.
    let n = 3
    const lowered: ThreadScheduling[][] = []
    const streamUntil = Date.now() + 2500
    while (Date.now() < streamUntil) {
      webhook.handle(publish(n++))
      await new Promise((resolve) => setTimeout(resolve, 100))
      const now = loweredThreads()
      if (now.length > 0) lowered.push(now)
    }
    assert.deepEqual(lowered, [], 'no sample of the stream found the delivery thread lowered')
    await webhook.flush()
    assert.equal(receiver.accepted.length, n - 1)
    await waitFor(() => idleThreads().length === 1, 'SCHED_IDLE again once the stream has ended')
  })

  test('the raise takes effect while busy threads hold every core', { skip: chrtMissing }, async (t) => {
    const receiver = await startReceiver({
      reply: (_request, index) => ({ status: 200, delayMs: index === 0 ? 3000 : 0 }),
    })
    t.after(() => receiver.close())
    const webhook = webhookFor(t, { url: receiver.url, pool_size: 1 })
    webhook.handle(publish(1))
    await waitFor(() => idleThreads().length === 1, 'one thread at SCHED_IDLE')
    const delivery = idleThreads()[0]?.tid
    const ofDelivery = () => threadsOfThisProcess().find((thread) => thread.tid === delivery)
    // CPU-bound threads, three per core, at the process's priority: a SCHED_IDLE thread, and any process
    // it starts, gets next to no CPU now; its governor's timer may not run for seconds.
    const busy = Array.from(
      { length: 3 * availableParallelism() },
      () => new Worker('for (;;);', { eval: true }),
    )
    t.after(() => Promise.all(busy.map((worker) => worker.terminate())))
    await Promise.all(busy.map((worker) => once(worker, 'online')))
    // A steady stream, 10 events every 10 ms, waiting behind the first one's answer.
    let n = 2
    let niceZeroAt: number | undefined
    const deadline = Date.now() + 15_000
    while (ofDelivery()?.policy !== SCHED_OTHER && Date.now() < deadline) {
      for (let k = 0; k < 10; k++) webhook.handle(publish(n++))
      await new Promise((resolve) => setTimeout(resolve, 10))
      if (niceZeroAt === undefined && ofDelivery()?.nice === 0) niceZeroAt = Date.now()
    }
    await Promise.all(busy.map((worker) => worker.terminate()))
    assert.notEqual(niceZeroAt, undefined, 'the delivery thread came back to nice 0')
    assert.equal(ofDelivery()?.policy, SCHED_OTHER, 'and to SCHED_OTHER')
    // Its policy follows its nice value (a `chrt` started at SCHED_IDLE took seconds to).
    assert.ok(
      Date.now() - (niceZeroAt ?? 0) < 2000,
      `SCHED_OTHER ${Date.now() - (niceZeroAt ?? 0)} ms after nice 0`,
    )
    await webhook.flush()
    assert.equal(receiver.accepted.length, n - 1)
  })

  test('while the broker thread is busy taking in a burst, the backlog does not raise it (for 10 s)', {
    skip: chrtMissing,
  }, async (t) => {
    // The first answer takes 6 s: with one connection, the other events wait behind it that long.
    const receiver = await startReceiver({
      reply: (_request, index) => ({ status: 200, delayMs: index === 0 ? 6000 : 0 }),
    })
    t.after(() => receiver.close())
    const webhook = webhookFor(t, { url: receiver.url, pool_size: 1 })
    webhook.handle(publish(1))
    await waitFor(() => idleThreads().length === 1, 'one thread at SCHED_IDLE')
    // 2.5 s of a broker thread with no slack: every turn of its event loop busy, handing an event over.
    const busyUntil = Date.now() + 2500
    let n = 2
    while (Date.now() < busyUntil) {
      const spinUntil = Date.now() + 20
      while (Date.now() < spinUntil);
      webhook.handle(publish(n++))
      await new Promise((resolve) => setImmediate(resolve))
    }
    // Past BACKLOG_MS (1 s) of backlog, and still yielding: the broker comes first during its burst.
    assert.equal(idleThreads().length, 1)
    const lowered = () =>
      threadsOfThisProcess().filter((thread) => thread.nice !== 0 || thread.policy !== SCHED_OTHER)
    // Once the broker has slack, the backlog raises it.
    await waitFor(() => lowered().length === 0, 'the delivery thread back at the process priority', 3000)
    assert.equal(receiver.accepted.length, 0, 'while the backlog was there')
    await webhook.flush()
    assert.equal(receiver.accepted.length, n - 1)
  })

  test('events that come while the broker thread has no slack wait for it (up to 1 s), then all go', async (t) => {
    const receiver = await startReceiver()
    t.after(() => receiver.close())
    const webhook = webhookFor(t, { url: receiver.url, pool_size: 4 })
    webhook.handle(publish(0))
    await webhook.flush()
    // 800 ms of a broker thread with no slack, handing an event over every turn of its event loop.
    const started = Date.now()
    let n = 1
    let firstLate = 0
    while (Date.now() < started + 800) {
      const spinUntil = Date.now() + 20
      while (Date.now() < spinUntil);
      // It measures its load every 100 ms: by 300 ms the delivery thread knows.
      if (firstLate === 0 && Date.now() >= started + 300) firstLate = n
      webhook.handle(publish(n++))
      await new Promise((resolve) => setImmediate(resolve))
    }
    const arrived = receiver.requests.map((request) => request.body)
    const late = Array.from({ length: n - firstLate }, (_, k) => publishBody(firstLate + k))
    assert.ok(late.length > 10, `${late.length} events`)
    assert.deepEqual(
      late.filter((body) => arrived.includes(body)),
      [],
    )
    await webhook.flush()
    assert.equal(receiver.accepted.length, n)
  })

  test('without chrt it runs at nice 19', async (t) => {
    const path = process.env.PATH
    process.env.PATH = '/nonexistent' // the delivery thread starts with a copy of this environment
    try {
      await deliveringWebhook(t)
    } finally {
      process.env.PATH = path
    }
    const lowered = threadsOfThisProcess().filter((thread) => thread.nice === 19)
    assert.equal(lowered.length, 1)
    assert.equal(lowered[0]?.policy, SCHED_OTHER)
    assert.deepEqual(mainThread(), { tid: process.pid, nice: 0, policy: SCHED_OTHER })
  })

  test("deliveryPriority: 'normal' leaves every thread at the process's priority", async (t) => {
    await deliveringWebhook(t, 'normal')
    const lowered = threadsOfThisProcess().filter(
      (thread) => thread.nice !== 0 || thread.policy !== SCHED_OTHER,
    )
    assert.deepEqual(lowered, [])
  })
})

/**
 * One connection whose first answer takes 3 s, so the events after it wait that long; its first event
 * handled and its delivery thread at SCHED_IDLE.
 */
async function slowFirstAnswer(t: TestContext) {
  const receiver = await startReceiver({
    reply: (_request, index) => ({ status: 200, delayMs: index === 0 ? 3000 : 0 }),
  })
  t.after(() => receiver.close())
  const webhook = webhookFor(t, { url: receiver.url, pool_size: 1 })
  webhook.handle(publish(1))
  await waitFor(() => idleThreads().length === 1, 'one thread at SCHED_IDLE')
  return { receiver, webhook }
}

test('an unknown deliveryPriority is refused at creation, by name', () => {
  const create = () =>
    createWebhook(
      { url: 'http://127.0.0.1:1/', events: [{ event: 'on_client_connack' }] },
      { deliveryPriority: 'low' as DeliveryPriority },
    )
  assert.throws(create, (error: unknown) => {
    assert.ok(error instanceof WebhookConfigError)
    assert.equal(error.key, 'deliveryPriority')
    assert.equal(error.message, "deliveryPriority: must be 'idle' or 'normal', got 'low'")
    return true
  })
})

test("the broker's load is measured between hand-overs close together, never from the webhook's creation", () => {
  const sampler = new BrokerLoadSampler()
  const elu = (active: number, idle: number) => ({ active, idle, utilization: active / (active + idle) })
  // The first hand-over opens a window: what the process did before (its start-up) is not a burst.
  assert.equal(sampler.sample(1000, elu(900, 100)), undefined)
  assert.equal(sampler.sample(1000 + LOAD_SAMPLE_MS / 2, elu(950, 100)), undefined, 'too soon')
  assert.equal(sampler.sample(1000 + LOAD_SAMPLE_MS, elu(990, 110)), 0.9)
  // After a quiet spell the window opens again.
  const quietEnd = 1000 + LOAD_SAMPLE_MS + LOAD_STALE_MS
  assert.equal(sampler.sample(quietEnd, elu(1000, 600)), undefined)
  assert.equal(sampler.sample(quietEnd + LOAD_SAMPLE_MS, elu(1025, 675)), 0.25)
})

test('where a lowered thread could never come back (no CAP_SYS_NICE, RLIMIT_NICE 0), idle leaves it at the process priority', {
  skip: notLinux,
}, async () => {
  const index = new URL('../src/index.ts', import.meta.url).href
  const script = `import { readdirSync, readFileSync } from 'node:fs'
import { createWebhook } from ${JSON.stringify(index)}
const webhook = createWebhook({ url: 'http://127.0.0.1:9/', events: [{ event: 'on_client_connack' }] })
await webhook.flush()
await new Promise((resolve) => setTimeout(resolve, 1000))
const lowered = readdirSync('/proc/self/task').filter((tid) => {
  const fields = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')
  return fields[16] !== '0' || fields[38] !== '0'
})
console.log(JSON.stringify({ lowered: lowered.length }))
await webhook.close()`
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]
  // As root, dropped to nobody with no capability; else this user already has none (it cannot lower).
  const command =
    process.getuid?.() === 0
      ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ...node]
      : node
  const output = execFileSync(command[0] as string, command.slice(1), { encoding: 'utf8', timeout: 30_000 })
  assert.equal(output.trim(), '{"lowered":0}')
})
