// The repository builds `dist/` on `npm ci` (a `prepare` script), but the published manifest must carry no
// install-time script: npm warns about one on every install of the tarball. npm packs the package.json that
// is on disk after `prepack`, so `prepack` takes `prepare` out and `postpack` puts it back. A dry run never
// reaches `postpack`, so it changes nothing. `--json=false`: `npm pack --json` would make `npm pkg set` parse the value as JSON.
import { execFileSync } from 'node:child_process'

const PREPARE = 'npm run build'
const npm = (...args) => execFileSync('npm', ['pkg', ...args, '--json=false'], { stdio: 'inherit' })

if (process.env.npm_config_dry_run !== 'true') {
  if (process.argv[2] === 'strip') npm('delete', 'scripts.prepare')
  else if (process.argv[2] === 'restore') npm('set', `scripts.prepare=${PREPARE}`)
  else throw new Error('usage: published-scripts.mjs strip|restore')
}
