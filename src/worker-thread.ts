/**
 * Starting a worker thread from a module that sits next to the caller, from source or from the build.
 */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * A worker running the module `name` next to `callerUrl` (pass `import.meta.url`), with the caller's own
 * extension: `.ts` when run from source, `.js` in the built package.
 */
export function startSiblingWorker(callerUrl: string, name: string, given: WorkerOptions = {}): Worker {
  const options = { execArgv: inheritableExecArgv(process.execArgv), ...given }
  const extension = extname(fileURLToPath(callerUrl))
  const url = new URL(`./${name}${extension}`, callerUrl)
  if (extension !== '.ts') return new Worker(url, options)
  // Node 20 does not run the parent's `--import tsx` hooks in workers: the worker registers tsx itself
  // before importing its module (tsx is a dev dependency, and only source checkouts run `.ts`).
  let tsxApi: string
  try {
    tsxApi = import.meta.resolve('tsx/esm/api')
  } catch {
    // Not under tsx: a runtime that strips types by itself (Node >= 22.6) loads the worker as it is.
    return new Worker(url, options)
  }
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}

/**
 * The parent's Node options a worker can take. `--input-type` describes the parent's `-e` or stdin script
 * (`node --input-type=module -e …`); a worker started from a file refuses to start with it.
 */
export function inheritableExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string
    if (arg === '--input-type') i++
    else if (!arg.startsWith('--input-type=')) kept.push(arg)
  }
  return kept
}
