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
  if (extension !== '.ts') return new Worker(url, { execArgv: moduleExecArgv(), ...options })
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
 * The process's Node options, less `--input-type`: a worker inherits them, and one started from a file
 * refuses that flag ("--input-type can only be used with string input"), so a script run with
 * `node --input-type=module -e` could not start one.
 */
function moduleExecArgv(): string[] {
  const argv: string[] = []
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i] as string
    if (arg === '--input-type') i++
    else if (!arg.startsWith('--input-type=')) argv.push(arg)
  }
  return argv
}
