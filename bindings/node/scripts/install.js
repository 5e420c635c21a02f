// npm's install step for ssekit: use a prebuilt binary (prebuilds/, the
// node-gyp-build layout) or an earlier build when one loads (and, in a
// checkout, is not older than the sources), else compile
// the addon with node-gyp. node-gyp is pointed at gyp/ beside this script
// (--nodedir), which holds build settings and no headers: the Node-API
// headers come from the node-api-headers package, so nothing is downloaded.
//
// Environment: SSEKIT_BUILD_FROM_SOURCE=1 (or npm's --build-from-source)
// always compiles; JOBS sets node-gyp's parallel jobs (default: all cores).
'use strict'
const {spawnSync} = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..', '..')

function loads() {
  try {
    require('node-gyp-build')(root)
    return true
  } catch {
    return false
  }
}

// In a checkout, a local build older than a source it is made of (after a
// git pull) is built again. A package's sources carry npm's fixed old
// timestamps, so a build made from them is never older.
function newestSource() {
  let newest = 0
  const visit = (rel) => {
    const file = path.join(root, rel)
    let st
    try {
      st = fs.statSync(file)
    } catch {
      return
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(file)) visit(path.join(rel, name))
    } else if (/\.(cc|h|hpp|gyp|gypi|map|js|json)$/.test(rel)) {
      newest = Math.max(newest, st.mtimeMs)
    }
  }
  // What the build reads: sources, gyp files, the scripts binding.gyp runs
  // and package.json (its version is compiled in).
  for (const rel of ['binding.gyp', 'package.json', 'core', 'capi/src', 'capi/include',
    'bindings/node/src', 'bindings/node/scripts']) visit(rel)
  return newest
}

function staleLocalBuild() {
  const addon = path.join(root, 'build', 'Release', 'ssekit.node')
  if (!fs.existsSync(addon)) return false
  return fs.statSync(addon).mtimeMs < newestSource()
}

function nodeGyp() {
  // npm names its own node-gyp in the environment of install scripts.
  const candidates = [process.env.npm_config_node_gyp]
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'))
  } catch {}
  // Run by hand: the node-gyp that comes with npm.
  const npmDirs = [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')]
  if (process.env.npm_execpath) npmDirs.unshift(path.resolve(process.env.npm_execpath, '..', '..'))
  for (const dir of npmDirs) candidates.push(path.join(dir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  for (const file of candidates) {
    if (file && fs.existsSync(file)) return [process.execPath, file]
  }
  return ['node-gyp']
}

function resolvable(name) {
  try {
    require.resolve(`${name}/package.json`, {paths: [root]})
    return true
  } catch {
    return false
  }
}

// npm does not install the dependencies of a directory outside the project
// that installs it (`npm install /path/to/checkout` only links it): get the
// build's own from the checkout's lock file, from the npm registry.
function ensureBuildDependencies() {
  if (['node-addon-api', 'node-api-headers', 'node-gyp-build'].every(resolvable)) return
  const npm = process.env.npm_execpath
  const [cmd, ...pre] = npm && fs.existsSync(npm) ? [process.execPath, npm] : ['npm']
  const verb = fs.existsSync(path.join(root, 'package-lock.json')) ? 'ci' : 'install'
  const args = [...pre, verb, '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']
  if (verb === 'install') args.push('--no-save', '--no-package-lock')
  console.error(`ssekit: installing the build's dependencies: npm ${args.slice(pre.length).join(' ')}`)
  const r = spawnSync(cmd, args, {cwd: root, stdio: 'inherit', shell: process.platform === 'win32'})
  if (r.error) throw r.error
  if (r.status !== 0) process.exit(r.status || 1)
}

function build() {
  const [cmd, ...pre] = nodeGyp()
  const args = [
    ...pre, 'rebuild', '--release',
    `--nodedir=${path.join(__dirname, 'gyp')}`,
    `--jobs=${process.env.JOBS || 'max'}`,
  ]
  console.error(`ssekit: building the addon: ${path.basename(args[pre.length - 1] || cmd)} ${args.slice(pre.length).join(' ')}`)
  const r = spawnSync(cmd, args, {cwd: root, stdio: 'inherit', shell: process.platform === 'win32'})
  if (r.error) throw r.error
  return r.status
}

const fromSource = process.env.SSEKIT_BUILD_FROM_SOURCE === '1' ||
  process.env.npm_config_build_from_source === 'true'
if (!fromSource && !staleLocalBuild() && loads()) process.exit(0)
ensureBuildDependencies()
const status = build()
if (status !== 0) {
  console.error('ssekit: the addon did not build. It needs a C++17 compiler, make, Python 3 ' +
    'and the libcurl development files (Debian: apt-get install build-essential python3 ' +
    'libcurl4-openssl-dev).')
  process.exit(status || 1)
}
