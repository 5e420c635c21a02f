// connect(): the stream as an async iterable. Reconnects are transparent,
// a finished stream ends the loop, a failed one throws SSEError, and
// breaking out of the loop closes the stream.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {connect, SSEError, ServerSentEvent} from 'ssekit'
import {startTestServer, requests, sleep} from './helpers.mjs'

let server
before(async () => { server = await startTestServer() })
after(async () => { await server.stop() })

const fast = {reconnect: {initialDelay: 20, minDelay: 20, maxDelay: 50}}

test('for await yields every event of a one-shot stream, then ends', async () => {
  const got = []
  for await (const ev of connect(server.url('/events?count=3&type=t'), {oneShot: true})) {
    assert.ok(ev instanceof ServerSentEvent)
    got.push([ev.type, ev.data, ev.lastEventId, ev.event, ev.id])
  }
  assert.deepEqual(got, [
    ['t', 'event 1', '1', 't', '1'], ['t', 'event 2', '2', 't', '2'], ['t', 'event 3', '3', 't', '3']])
})

test('the [DONE] sentinel ends the loop; json() parses the data', async () => {
  const got = []
  const stream = connect(server.url('/events?count=2&data=%7B%22n%22%3A{id}%7D&done=1'), {doneSentinel: true})
  for await (const ev of stream) got.push(ev.json().n)
  assert.deepEqual(got, [1, 2])
  assert.equal(stream.readyState, 2)
})

test('reconnects are transparent: the loop resumes after Last-Event-ID', async () => {
  await fetch(server.url('/_reset'))
  const got = []
  for await (const ev of connect(server.url('/drop?after=2&count=5'), fast)) {
    got.push(ev.data)
    if (got.length === 5) break
  }
  assert.deepEqual(got, ['event 1', 'event 2', 'event 3', 'event 4', 'event 5'])
  const reqs = await requests(server, '/drop')
  assert.equal(reqs[1].header_map['last-event-id'], '2')
})

test('breaking out of the loop closes the stream', async () => {
  await fetch(server.url('/_reset'))
  const stream = connect(server.url('/events?count=-1&interval_ms=5'), fast)
  let n = 0
  for await (const ev of stream) {
    void ev
    if (++n === 3) break
  }
  assert.equal(stream.readyState, 2)
  const {done} = await stream.next()
  assert.equal(done, true)
  await sleep(200)
  assert.equal((await requests(server, '/events')).length, 1)
})

test('a failed stream throws SSEError with status, headers and body', async () => {
  const stream = connect(server.url('/status/401?body=token%20expired&header=WWW-Authenticate:Bearer'))
  await assert.rejects(async () => {
    for await (const ev of stream) void ev
  }, (err) => {
    assert.ok(err instanceof SSEError)
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'SSEKIT_E_HTTP_STATUS')
    assert.equal(err.status, 401)
    assert.equal(err.body, 'token expired')
    assert.equal(err.headers.get('www-authenticate'), 'Bearer')
    return true
  })
})

test('onError sees every error; maxAttempts gives up', async () => {
  await fetch(server.url('/_reset'))
  const seen = []
  const stream = connect(server.url('/flaky?fail=10&key=connect-attempts'),
    {...fast, reconnect: {...fast.reconnect, maxAttempts: 3}, onError: (e) => seen.push(e.status)})
  await assert.rejects(async () => {
    for await (const ev of stream) void ev
  }, (err) => err.code === 'SSEKIT_E_RETRIES_EXHAUSTED')
  // One error per failed attempt, the last one the fatal.
  const attempts = (await requests(server, '/flaky')).length
  assert.ok(attempts >= 3)
  assert.deepEqual(seen, Array(attempts).fill(500))
})

test('POST with a JSON body, as LLM APIs stream', async () => {
  const by = {}
  const stream = connect(server.url('/echo'), {
    method: 'POST', body: {prompt: 'hello'}, headers: [['Content-Type', 'application/json']], oneShot: true,
  })
  for await (const ev of stream) by[ev.type] = ev.data
  assert.equal(by.method, 'POST')
  assert.equal(by.body, '{"prompt":"hello"}')
  assert.equal(JSON.parse(by.headers)['content-type'], 'application/json')
})

test('an async headers function answers each connect', async () => {
  let n = 0
  const tokens = []
  const stream = connect(server.url('/echo'), {...fast, headers: async () => ({'X-Token': `t${++n}`})})
  for await (const ev of stream) {
    if (ev.type !== 'headers') continue
    tokens.push(JSON.parse(ev.data)['x-token'])
    if (tokens.length === 3) break
  }
  assert.deepEqual(tokens, ['t1', 't2', 't3'])
})

test('an AbortSignal ends a pending loop', async () => {
  const ac = new AbortController()
  const stream = connect(server.url('/events?count=1&end=hang'), {signal: ac.signal})
  const got = []
  for await (const ev of stream) {
    got.push(ev.data)
    ac.abort()
  }
  assert.deepEqual(got, ['event 1'])
  const pre = connect(server.url('/events?count=1'), {signal: AbortSignal.abort()})
  assert.deepEqual(await pre.next(), {value: undefined, done: true})
})

test('a slow consumer still gets every event, in order', async () => {
  const n = 3000
  let next = 1
  for await (const ev of connect(server.url(`/events?count=${n}`), {oneShot: true})) {
    assert.equal(ev.data, `event ${next++}`)
    if (next % 500 === 0) await sleep(20)
  }
  assert.equal(next, n + 1)
})

test('onComment sees keep-alive comments', async () => {
  const comments = []
  const got = []
  for await (const ev of connect(server.url('/events?count=4&comment_every=2'), {oneShot: true, onComment: (t) => comments.push(t)})) {
    got.push(ev.data)
  }
  assert.equal(got.length, 4)
  assert.deepEqual(comments, ['keep-alive', 'keep-alive'])
})

test('reconnect: false never sends the request again', async () => {
  await fetch(server.url('/_reset'))
  const got = []
  await assert.rejects(async () => {
    for await (const ev of connect(server.url('/drop?after=2'), {reconnect: false})) got.push(ev.data)
  }, (err) => err instanceof SSEError && err.code === 'SSEKIT_E_NETWORK')
  assert.deepEqual(got, ['event 1', 'event 2'])
  await sleep(200)
  assert.equal((await requests(server, '/drop')).length, 1)
})

test('failFirst reports a failing first attempt at once', async () => {
  await fetch(server.url('/_reset'))
  const seen = []
  await assert.rejects(async () => {
    for await (const ev of connect(server.url('/status/503'), {failFirst: true, onError: (e) => seen.push(e.status)})) void ev
  }, (err) => err.status === 503)
  assert.deepEqual(seen, [503])
  assert.equal((await requests(server, '/status/503')).length, 1)
})

test('next() calls made before the previous one settled are answered in order', async () => {
  const it = connect(server.url('/events?count=3&end=hang'))[Symbol.asyncIterator]()
  const results = await Promise.all([it.next(), it.next(), it.next()])
  assert.deepEqual(results.map((r) => r.value.data), ['event 1', 'event 2', 'event 3'])
  await it.return()
})

test('close() from onError ends the loop without an error', async () => {
  const stream = connect(server.url('/status/404'), {onError: () => stream.close()})
  const got = []
  for await (const ev of stream) got.push(ev)
  assert.deepEqual(got, [])
  assert.equal(stream.readyState, 2)
})
