// The package's entry points: the exports map (ESM import, CommonJS
// require, one addon instance behind both), the types, and the loader.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'
import * as esm from 'ssekit'
import defaultExport from 'ssekit'
import {root, runNode} from './helpers.mjs'

const require = createRequire(import.meta.url)

test('ESM and CommonJS entry points export the same objects', () => {
  const cjs = require('ssekit')
  for (const name of ['EventSource', 'connect', 'Parser', 'parse', 'encode', 'encodeComment', 'SSEError', 'version']) {
    assert.notEqual(esm[name], undefined, name)
    assert.equal(esm[name], cjs[name], name)
    assert.equal(defaultExport[name], cjs[name], name)
  }
  assert.match(esm.version, /^\d+\.\d+\.\d+$/)
  const pkg = require('../../package.json')
  assert.equal(esm.version, pkg.version)
})

test('package.json points main, types and exports into bindings/node', () => {
  const pkg = require('../../package.json')
  for (const file of [pkg.main, pkg.types, pkg.exports['.'].import, pkg.exports['.'].require, pkg.exports['.'].types]) {
    assert.ok(file.startsWith('./bindings/node/'), file)
    assert.ok(existsSync(path.join(root, file)), file)
  }
})

test('a CommonJS script streams events', async () => {
  const r = await runNode(`
    import {createRequire} from 'node:module'
    const require = createRequire(process.cwd() + '/')
    const {parse} = require('ssekit')
    console.log(JSON.stringify(parse('data: cjs\\n\\n')))
  `)
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), [{type: 'message', data: 'cjs', lastEventId: ''}])
})

test('index.d.ts type-checks, and ssekit.EventSource is assignable to the DOM EventSource', () => {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
  // tests/node/types: a DOM-lib project and a Node-types project.
  for (const project of ['tsconfig.dom.json', 'tsconfig.node.json']) {
    try {
      execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tests/node/types', project)], {encoding: 'utf8'})
    } catch (err) {
      assert.fail(`${project}: ${err.stdout}${err.stderr}`)
    }
  }
})

test('tsc rejects a misuse of the types (the check above can fail)', () => {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
  assert.throws(() => execFileSync(process.execPath,
    [tsc, '-p', path.join(root, 'tests/node/types', 'tsconfig.bad.json')], {encoding: 'utf8'}))
})
