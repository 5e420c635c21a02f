// Process lifetime, in child processes: an open stream keeps the process
// alive as a socket would, a process whose sources are all closed exits on
// its own, exiting with streams open does not crash, a listener that throws
// is reported as an uncaught exception without stopping the stream, and a
// closed, unreferenced source is garbage-collected.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {startTestServer, runNode} from './helpers.mjs'

let server
before(async () => { server = await startTestServer() })
after(async () => { await server.stop() })

test('an open stream keeps the process alive; once closed, the process exits by itself', async () => {
  // One event, then 800 ms of silence, then the end of a one-shot stream:
  // nothing but the stream can keep the process alive meanwhile. Had it
  // not, 'beforeExit' would come while the stream is still OPEN (1).
  const r = await runNode(`
    import {EventSource} from 'ssekit'
    const es = new EventSource(${JSON.stringify(server.url('/stall?after=1&ms=800&then=close'))}, {oneShot: true})
    es.onmessage = (e) => console.log('message', e.data)
    process.on('beforeExit', () => console.log('beforeExit', es.readyState))
  `)
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), ['message event 1', 'beforeExit 2'])
})

test('close() lets the process exit while the server keeps the stream open', async () => {
  const r = await runNode(`
    import {EventSource} from 'ssekit'
    const es = new EventSource(${JSON.stringify(server.url('/events?count=2&end=hang'))})
    let n = 0
    es.onmessage = () => { if (++n === 2) { es.close(); console.log('closed') } }
    process.on('beforeExit', () => console.log('beforeExit'))
  `)
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), ['closed', 'beforeExit'])
})

test('process.exit() with streams open exits cleanly', async () => {
  const r = await runNode(`
    import {EventSource, connect} from 'ssekit'
    const sources = []
    for (let i = 0; i < 4; i++) sources.push(new EventSource(${JSON.stringify(server.url('/events?count=-1&interval_ms=1'))}))
    connect(${JSON.stringify(server.url('/events?count=-1'))})
    let n = 0
    sources[0].onmessage = () => { if (++n === 50) { console.log('exiting'); process.exit(7) } }
  `)
  assert.equal(r.signal, null, r.stderr)
  assert.equal(r.code, 7, r.stderr)
  assert.equal(r.stdout.trim(), 'exiting')
})

test('an uncaught exception with streams open ends the process as usual', async () => {
  const r = await runNode(`
    import {EventSource} from 'ssekit'
    const es = new EventSource(${JSON.stringify(server.url('/events?count=-1&interval_ms=1'))})
    es.onmessage = () => { throw new Error('listener failed on purpose') }
  `)
  assert.equal(r.signal, null, r.stderr)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /listener failed on purpose/)
})

test('a throwing listener is reported as uncaught and the stream goes on', async () => {
  const r = await runNode(`
    import {EventSource} from 'ssekit'
    const errors = []
    process.on('uncaughtException', (err) => errors.push(err.message))
    const es = new EventSource(${JSON.stringify(server.url('/events?count=5'))})
    const seen = []
    es.addEventListener('message', (e) => { throw new Error('boom ' + e.data) })
    es.addEventListener('message', (e) => {
      seen.push(e.data)
      if (seen.length === 5) {
        es.close()
        setImmediate(() => console.log(JSON.stringify({seen, errors})))
      }
    })
  `)
  assert.equal(r.code, 0, r.stderr)
  const {seen, errors} = JSON.parse(r.stdout)
  assert.deepEqual(seen, ['event 1', 'event 2', 'event 3', 'event 4', 'event 5'])
  assert.deepEqual(errors, seen.map((d) => `boom ${d}`))
})

test('a closed, unreferenced EventSource is garbage-collected', async () => {
  const r = await runNode(`
    import {EventSource} from 'ssekit'
    const collected = []
    const registry = new FinalizationRegistry((name) => collected.push(name))
    await new Promise((resolve) => {
      const failed = new EventSource(${JSON.stringify(server.url('/status/404'))})
      failed.onerror = () => resolve()
      registry.register(failed, 'failed')
    })
    await new Promise((resolve) => {
      const closed = new EventSource(${JSON.stringify(server.url('/events?count=-1'))})
      closed.onmessage = () => { closed.close(); resolve() }
      registry.register(closed, 'closed')
    })
    for (let i = 0; i < 20 && collected.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20))
      globalThis.gc()
    }
    console.log(collected.sort().join(','))
  `, {args: ['--expose-gc']})
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'closed,failed')
})
