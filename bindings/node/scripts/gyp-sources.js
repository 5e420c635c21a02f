// Prints the C++ sources of the addon for binding.gyp: the core and the C
// API shims (every .cc file in core/ and capi/src/) and the binding itself,
// so a file added to the core needs no change here.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..', '..')
const dirs = ['core', 'capi/src', 'bindings/node/src']
const files = []
for (const dir of dirs) {
  for (const name of fs.readdirSync(path.join(root, dir)).sort()) {
    if (name.endsWith('.cc')) files.push(`${dir}/${name}`)
  }
}
console.log(files.join('\n'))
