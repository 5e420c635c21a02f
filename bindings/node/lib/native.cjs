// Loads the compiled addon: a prebuilt binary for this platform
// (prebuilds/<platform>-<arch>/), else the local build (build/Release/).
// The addon is context-aware: each environment (the main thread, every
// worker) loads its own instance with its own queue. Runs on the JS thread
// of the environment that loads it.
'use strict'
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..', '..')

function locate() {
  try {
    return require('node-gyp-build')(root)
  } catch (err) {
    // A checkout installed by a link may lack node-gyp-build: its build.
    if (err.code !== 'MODULE_NOT_FOUND' || !/node-gyp-build/.test(err.message)) throw err
    return require(path.join(root, 'build', 'Release', 'ssekit.node'))
  }
}

function load() {
  try {
    return locate()
  } catch (err) {
    const e = new Error(
      `ssekit: no compiled addon for ${process.platform}-${process.arch} (Node ${process.version}) ` +
      `could be loaded from ${root}. Build it with \`npm rebuild ssekit\` (or, in a checkout, ` +
      '`npm install`); that needs a C++17 compiler, make, Python 3 and the libcurl development ' +
      `files (Debian: apt-get install build-essential python3 libcurl4-openssl-dev). Cause: ${err.message}`)
    e.code = 'ERR_SSEKIT_ADDON'
    e.cause = err
    throw e
  }
}

module.exports = load()
