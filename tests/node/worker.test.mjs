// The addon is context-aware: it loads in worker_threads, in several
// workers at once, each with its own queue; a worker that ends with streams
// open (or is terminated) takes them down without harming the others.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {Worker} from 'node:worker_threads'
import {EventSource} from 'ssekit'
import {startTestServer, collect} from './helpers.mjs'

let server
before(async () => { server = await startTestServer() })
after(async () => { await server.stop() })

const workerSource = `
  const {parentPort, workerData} = require('node:worker_threads')
  const {EventSource, connect} = require('ssekit')
  ;(async () => {
    const got = []
    for await (const ev of connect(workerData.url, {oneShot: true})) got.push(ev.data)
    const es = new EventSource(workerData.url)
    const viaEs = await new Promise((resolve) => {
      const seen = []
      es.onmessage = (e) => { seen.push(e.data); if (seen.length === 3) { es.close(); resolve(seen) } }
    })
    if (workerData.leaveOpen) {
      new EventSource(workerData.forever)
      connect(workerData.forever)
    }
    parentPort.postMessage({got, viaEs})
    // A worker's open streams keep it alive, as sockets would: exiting
    // with them open is the case under test.
    if (workerData.leaveOpen) setTimeout(() => process.exit(0), 20)
  })()
`

function runWorker(data) {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerSource, {eval: true, workerData: data})
    let message
    w.on('message', (m) => { message = m })
    w.on('error', reject)
    w.on('exit', (code) => resolve({code, message}))
  })
}

test('several workers stream at once, each through its own addon instance', async () => {
  const expected = ['event 1', 'event 2', 'event 3']
  const results = await Promise.all([1, 2, 3, 4].map(() => runWorker({url: server.url('/events?count=3')})))
  for (const r of results) {
    assert.equal(r.code, 0)
    assert.deepEqual(r.message, {got: expected, viaEs: expected})
  }
})

test('the main thread streams while workers come and go', async () => {
  const es = new EventSource(server.url('/events?count=-1&interval_ms=2'))
  const first = collect(es, ['message'], (e) => e.length === 200)
  const results = await Promise.all([1, 2].map(() => runWorker({
    url: server.url('/events?count=3'), leaveOpen: true, forever: server.url('/events?count=-1&interval_ms=1'),
  })))
  for (const r of results) {
    assert.equal(r.code, 0)
    assert.deepEqual(r.message.got, ['event 1', 'event 2', 'event 3'])
  }
  const events = await first
  es.close()
  assert.deepEqual(events.slice(0, 3).map((e) => e.data), ['event 1', 'event 2', 'event 3'])
})

test('a worker terminated while streaming does not take the process down', async () => {
  const w = new Worker(`
    const {parentPort} = require('node:worker_threads')
    const {EventSource} = require('ssekit')
    const es = new EventSource(${JSON.stringify(server.url('/events?count=-1&interval_ms=1'))})
    let n = 0
    es.onmessage = () => { if (++n === 20) parentPort.postMessage('streaming') }
  `, {eval: true})
  await new Promise((resolve) => w.once('message', resolve))
  const code = await w.terminate()
  assert.equal(code, 1)
  // The main thread's addon instance still works.
  const es = new EventSource(server.url('/events?count=2'))
  const got = await collect(es, ['message'], (e) => e.length === 2)
  es.close()
  assert.deepEqual(got.map((e) => e.data), ['event 1', 'event 2'])
})

test('process.exit() from a listener inside a worker ends only that worker', async () => {
  const w = new Worker(`
    const {EventSource, connect} = require('ssekit')
    for (let i = 0; i < 3; i++) new EventSource(${JSON.stringify(server.url('/events?count=-1&interval_ms=1'))})
    connect(${JSON.stringify(server.url('/events?count=5'))}, {oneShot: true})
    const es = new EventSource(${JSON.stringify(server.url('/events?count=-1'))})
    let n = 0
    es.onmessage = () => { if (++n === 100) process.exit(3) }
  `, {eval: true})
  const code = await new Promise((resolve) => w.once('exit', resolve))
  assert.equal(code, 3)
  const es = new EventSource(server.url('/events?count=1'))
  const got = await collect(es, ['message'], (e) => e.length === 1)
  es.close()
  assert.equal(got[0].data, 'event 1')
})

test('terminating workers while their streams deliver never takes the process down', async () => {
  const source = `
    const {EventSource} = require('ssekit')
    const {workerData, parentPort} = require('node:worker_threads')
    for (let i = 0; i < 3; i++) new EventSource(workerData.url).onmessage = () => {}
    parentPort.postMessage('up')
  `
  const url = server.url('/events?count=-1&interval_ms=1')
  for (let i = 0; i < 20; i++) {
    await Promise.all([0, 1].map(async () => {
      const w = new Worker(source, {eval: true, workerData: {url}})
      await new Promise((resolve) => w.once('message', resolve))
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 30))
      await w.terminate()
    }))
  }
  // Still alive, and the main thread's streams still work.
  const es = new EventSource(server.url('/events?count=2'))
  const got = await new Promise((resolve) => {
    const seen = []
    es.onmessage = (e) => { seen.push(e.data); if (seen.length === 2) { es.close(); resolve(seen) } }
  })
  assert.deepEqual(got, ['event 1', 'event 2'])
})
