/**
 * axios and undici, loaded the way that lets the delivery thread start soonest (issue 14: the first event
 * of a new webhook should go out within 100 ms of `handle()`). What is loaded here is on the path of every
 * first request, so each choice below was measured (medians in `docs/delivery.md`, "Start").
 *
 * - Through `require`, not `import`: axios' ESM build is some 80 files, each resolved and linked on its
 *   own (~190 ms with undici's index, against ~110 ms through the CommonJS entries).
 * - axios' browser bundle (`axios/dist/browser/axios.cjs`, a subpath axios exports for bundlers and React
 *   Native), not its Node one: ours is only the request layer over our own adapter (`transport.ts`), so
 *   the Node bundle's http adapter and what it pulls in (form-data and mime-db, follow-redirects, the
 *   proxy agent, http2, zlib) would be loaded for nothing. axios' config, headers and `AxiosError` are the
 *   same code in both; our transforms are the identity, so no platform-specific transform runs.
 * - undici's three files we use, not its index: the index loads every dispatcher, fetch, the cache and the
 *   mocks (~80 ms); `Pool` (with the connector it builds on) and `request` load in a third of that.
 *   undici 7 has no `exports` map, so these deep paths are reachable but not a promise of undici's:
 *   `package.json` pins undici to one minor (`~`), and `test/http-libraries.test.ts` fails loudly if a
 *   file moves or stops being what undici's index exports under that name.
 *
 * The types are the packages' own.
 */
import { createRequire } from 'node:module'
import type { Dispatcher } from 'undici'

const require = createRequire(import.meta.url)

/** The deep paths of undici's `Pool`, `buildConnector` and `request` in undici 7 (checked by a test). */
export const UNDICI_PATHS = {
  Pool: 'undici/lib/dispatcher/pool.js',
  buildConnector: 'undici/lib/core/connect.js',
  request: 'undici/lib/api/api-request.js',
} as const

/** What the transport uses of axios and undici. */
export interface HttpLibraries {
  /** axios' default export (`create`, `AxiosError`). */
  axios: typeof import('axios').default
  /** undici's `Pool`. */
  Pool: typeof import('undici').Pool
  /** undici's `buildConnector`. */
  buildConnector: typeof import('undici').buildConnector
  /**
   * `dispatcher.request(options)`: undici's index adds it to every dispatcher's prototype; the index is not
   * loaded here, so it is called on the dispatcher instead.
   */
  request(
    dispatcher: import('undici').Dispatcher,
    options: Omit<import('undici').Dispatcher.RequestOptions, 'origin'>,
  ): Promise<import('undici').Dispatcher.ResponseData>
}

let loaded: HttpLibraries | undefined

/**
 * Loads them at the first call. Only the delivery thread (or a sender on the caller's thread) sends: the
 * broker's thread, which imports this module with the rest of the library, never pays for them (~50 ms and
 * their memory, measured: `docs/delivery.md`, "Start").
 */
export function httpLibraries(): HttpLibraries {
  loaded ??= load()
  return loaded
}

function load(): HttpLibraries {
  const undiciRequest = require(UNDICI_PATHS.request) as (
    this: Dispatcher,
    options: Dispatcher.RequestOptions,
  ) => Promise<Dispatcher.ResponseData>
  return {
    axios: require('axios/dist/browser/axios.cjs'),
    Pool: require(UNDICI_PATHS.Pool),
    buildConnector: require(UNDICI_PATHS.buildConnector),
    request: (dispatcher, options) => undiciRequest.call(dispatcher, options as Dispatcher.RequestOptions),
  }
}
