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
export function startSiblingWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const extension = extname(fileURLToPath(callerUrl))
  const url = new URL(`./${name}${extension}`, callerUrl)
  if (extension !== '.ts') {
    if (!describesInlineScript(process.execArgv)) return new Worker(url, options)
    // A worker inherits the parent's Node options, and one started from a file refuses `--input-type`
    // (`node --input-type=module -e …`): one started from a string takes it. Passing a filtered `execArgv`
    // instead would make Node reject per-process flags it otherwise leaves out quietly (`--expose-gc`).
    return new Worker(`import(${JSON.stringify(url.href)})`, { ...options, eval: true })
  }
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

/** Whether the process runs an inline (`-e`, stdin) script typed by `--input-type`, in either spelling. */
function describesInlineScript(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))
}
