// EventSource against the fault-injecting server: the WHATWG interface
// (constructor, readyState, handlers, EventTarget, MessageEvent fields,
// error and reconnect rules, close) and ssekit's init extras.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {EventSource} from 'ssekit'
import {startTestServer, requests, once, collect, sleep} from './helpers.mjs'

let server
before(async () => { server = await startTestServer() })
after(async () => { await server.stop() })

const fast = {reconnect: {initialDelay: 20, minDelay: 20, maxDelay: 50}}

test('constructor: invalid and relative URLs throw SyntaxError', () => {
  for (const bad of ['', '/events', 'events?x=1', 'http://', '::']) {
    assert.throws(() => new EventSource(bad), (err) => err instanceof DOMException && err.name === 'SyntaxError', bad)
  }
  assert.throws(() => new EventSource(), TypeError)
})

test('constructor: URL objects, url, withCredentials, constants, unknown keys', async () => {
  const u = new URL(server.url('/events?count=1'))
  const es = new EventSource(u, {withCredentials: true, notAnOption: 1, fetch: () => {}})
  assert.equal(es.url, u.href)
  assert.equal(es.withCredentials, true)
  const other = new EventSource(u, {})
  assert.equal(other.withCredentials, false)
  other.close()
  for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSED', 2]]) {
    assert.equal(EventSource[name], value)
    assert.equal(es[name], value)
  }
  assert.equal(es.readyState, EventSource.CONNECTING)
  assert.ok(es instanceof EventTarget)
  const stateAtOpen = await new Promise((resolve) => { es.onopen = () => resolve(es.readyState) })
  assert.equal(stateAtOpen, EventSource.OPEN)
  es.close()
  assert.equal(es.readyState, EventSource.CLOSED)
})

test('messages are MessageEvents with data, type, lastEventId, origin and target', async () => {
  const es = new EventSource(server.url('/events?count=3&data=hello%20{id}'))
  const got = await collect(es, ['message'], (e) => e.length === 3)
  es.close()
  assert.deepEqual(got.map((e) => [e.data, e.lastEventId, e.type]), [
    ['hello 1', '1', 'message'], ['hello 2', '2', 'message'], ['hello 3', '3', 'message']])
  const ev = got[0].ev
  assert.ok(ev instanceof MessageEvent)
  assert.ok(ev instanceof Event)
  assert.equal(ev.origin, server.base)
  assert.equal(ev.target, es)
  assert.equal(ev.currentTarget, es)
  assert.equal(ev.source, null)
  assert.deepEqual([...ev.ports], [])
  assert.equal(ev.bubbles, false)
  assert.equal(ev.cancelable, false)
  assert.equal(typeof ev.timeStamp, 'number')
  assert.equal(es.lastEventId, '3')
})

test('onmessage sees only message events; named events reach their listeners', async () => {
  const es = new EventSource(server.url('/events?count=2&type=tick'))
  const plain = []
  es.onmessage = (e) => plain.push(e.data)
  const ticks = await collect(es, ['tick'], (e) => e.length === 2)
  es.close()
  assert.deepEqual(ticks.map((e) => [e.type, e.data]), [['tick', 'event 1'], ['tick', 'event 2']])
  assert.deepEqual(plain, [])
})

test('onopen, onmessage and onerror are nullable and assignable; null unsubscribes', async () => {
  const es = new EventSource(server.url('/events?count=4&interval_ms=20'))
  assert.equal(es.onopen, null)
  assert.equal(es.onmessage, null)
  assert.equal(es.onerror, null)
  const seen = []
  const first = (e) => seen.push(`first ${e.data}`)
  const second = (e) => seen.push(`second ${e.data}`)
  es.onmessage = first
  assert.equal(es.onmessage, first)
  let opened = 0
  es.onopen = () => { opened++ }
  await collect(es, ['message'], (e) => e.length === 1)
  es.onmessage = second
  assert.equal(es.onmessage, second)
  await collect(es, ['message'], (e) => e.length === 1)
  es.onmessage = null
  assert.equal(es.onmessage, null)
  const rest = await collect(es, ['message'], (e) => e.length === 2)
  es.close()
  assert.equal(opened, 1)
  assert.deepEqual(seen, ['first event 1', 'second event 2'])
  assert.deepEqual(rest.map((e) => e.data), ['event 3', 'event 4'])
  es.onerror = 'not callable'
  assert.equal(es.onerror, null)
})

test('a handler keeps the position of its first assignment among the listeners', async () => {
  const es = new EventSource(server.url('/events?count=1'))
  const order = []
  es.onmessage = () => order.push('handler A')
  es.addEventListener('message', () => order.push('listener'))
  es.onmessage = () => order.push('handler B')
  await collect(es, ['message'], (e) => e.length === 1)
  es.close()
  assert.deepEqual(order, ['handler B', 'listener'])
})

test('listeners can be added and removed at any time, also during a dispatch', async () => {
  const es = new EventSource(server.url('/events?count=3&interval_ms=20'))
  const log = []
  const late = (e) => log.push(`late ${e.data}`)
  const once = (e) => log.push(`once ${e.data}`)
  es.addEventListener('message', once, {once: true})
  es.addEventListener('message', function first(e) {
    log.push(`first ${e.data}`)
    assert.equal(this, es)
    // Added during the dispatch of event 1: from event 2 on.
    if (e.data === 'event 1') es.addEventListener('message', late)
    if (e.data === 'event 2') es.removeEventListener('message', late)
  })
  es.addEventListener('message', {handleEvent: (e) => log.push(`object ${e.data}`)})
  await collect(es, ['message'], (e) => e.length === 3)
  es.close()
  assert.deepEqual(log, [
    'once event 1', 'first event 1', 'object event 1',
    'first event 2', 'object event 2',
    'first event 3', 'object event 3'])
})

test('dispatchEvent reaches the listeners of the event type', () => {
  const es = new EventSource(server.url('/events?count=1'), {signal: AbortSignal.abort()})
  const seen = []
  es.addEventListener('custom', (e) => seen.push(e.detail))
  assert.equal(es.dispatchEvent(new CustomEvent('custom', {detail: 7})), true)
  assert.deepEqual(seen, [7])
  assert.throws(() => es.dispatchEvent({}), TypeError)
})

test('exactly one error per disconnect, with readyState already CONNECTING; then it reconnects with Last-Event-ID', async () => {
  await fetch(server.url('/_reset'))
  const es = new EventSource(server.url('/events?count=3'), fast)
  const errors = []
  const opens = []
  es.onopen = () => opens.push(es.readyState)
  const done = new Promise((resolve) => {
    es.onerror = (e) => {
      errors.push({readyState: es.readyState, code: e.code, willRetry: e.willRetry})
      if (errors.length === 3) {
        es.close()
        resolve()
      }
    }
  })
  const messages = []
  es.onmessage = (e) => messages.push(e.data)
  await done
  assert.deepEqual(errors.map((e) => e.readyState), [0, 0, 0])
  assert.deepEqual(errors.map((e) => e.code), Array(3).fill('SSEKIT_E_STREAM_ENDED'))
  assert.ok(errors.every((e) => e.willRetry))
  assert.deepEqual(messages, ['event 1', 'event 2', 'event 3'])
  assert.deepEqual(opens, [1, 1, 1])
  const reqs = await requests(server, '/events')
  assert.equal(reqs.length, 3)
  assert.equal(reqs[0].header_map['last-event-id'], undefined)
  assert.equal(reqs[1].header_map['last-event-id'], '3')
  assert.equal(reqs[0].header_map.accept, 'text/event-stream')
  // No reconnect after close(), though the retry delay is 20 ms.
  await sleep(300)
  assert.equal((await requests(server, '/events')).length, 3)
})

test('close() inside onerror stops the reconnect', async () => {
  await fetch(server.url('/_reset'))
  const es = new EventSource(server.url('/drop?after=1'), fast)
  let errors = 0
  await new Promise((resolve) => {
    es.onerror = () => {
      errors++
      es.close()
      assert.equal(es.readyState, EventSource.CLOSED)
      resolve()
    }
  })
  await sleep(300)
  assert.equal(errors, 1)
  assert.equal((await requests(server, '/drop')).length, 1)
})

test('close() inside a slow onerror stops a reconnect whose delay already passed', async () => {
  await fetch(server.url('/_reset'))
  // retry 0: the loop thread's delay (the 10 ms floor) ends long before
  // this busy onerror does; the reconnect waits for the listeners anyway.
  const es = new EventSource(server.url('/drop?after=1'), {
    ...fast, reconnect: {initialDelay: 0, minDelay: 10, maxDelay: 10},
  })
  let errors = 0
  await new Promise((resolve) => {
    es.onerror = () => {
      errors++
      const until = performance.now() + 300
      while (performance.now() < until) {}
      es.close()
      resolve()
    }
  })
  await sleep(300)
  assert.equal(errors, 1)
  assert.equal((await requests(server, '/drop')).length, 1)
})

for (const [name, path, status, code] of [
  ['204', '/204', 204, 'SSEKIT_E_HTTP_STATUS'],
  ['another status', '/status/500', 500, 'SSEKIT_E_HTTP_STATUS'],
  ['a wrong content type', '/ctype?value=text/plain', 0, 'SSEKIT_E_CONTENT_TYPE'],
]) {
  test(`${name} gives one error, then CLOSED and no reconnect`, async () => {
    await fetch(server.url('/_reset'))
    const es = new EventSource(server.url(path), fast)
    const messages = []
    es.onmessage = (e) => messages.push(e.data)
    const ev = await once(es, 'error')
    assert.equal(es.readyState, EventSource.CLOSED)
    assert.equal(ev.code, code)
    assert.equal(ev.willRetry, false)
    if (status !== 0) assert.equal(ev.status, status)
    await sleep(300)
    assert.deepEqual(messages, [])
    assert.equal((await requests(server, path.split('?')[0])).length, 1)
  })
}

test('an HTTP error event carries status, headers and body', async () => {
  const es = new EventSource(server.url('/status/503?body=' + encodeURIComponent('{"error":"overloaded"}') +
    '&ctype=application/json&header=X-Request-Id:abc123'))
  const ev = await once(es, 'error')
  assert.equal(ev.type, 'error')
  assert.equal(ev.target, es)
  assert.equal(ev.status, 503)
  assert.equal(ev.code, 'SSEKIT_E_HTTP_STATUS')
  assert.equal(typeof ev.message, 'string')
  assert.ok(ev.message.length > 0)
  assert.equal(ev.body, '{"error":"overloaded"}')
  assert.equal(ev.headers.get('x-request-id'), 'abc123')
  assert.equal(ev.headers.get('content-type'), 'application/json')
  assert.ok(ev instanceof Event)
})

test('strict: false retries a 5xx with backoff', async () => {
  await fetch(server.url('/_reset'))
  const es = new EventSource(server.url('/flaky?fail=2&key=es-strict&count=1'), {...fast, strict: false})
  const errors = []
  es.onerror = (e) => errors.push([e.status, es.readyState])
  const data = await new Promise((resolve) => {
    es.onmessage = (e) => {
      es.close()
      resolve(e.data)
    }
  })
  assert.equal(data, 'event 1')
  assert.deepEqual(errors, [[500, 0], [500, 0]])
})

test('headers, method, body and lastEventId reach the server', async () => {
  const es = new EventSource(server.url('/echo'), {
    method: 'POST',
    body: '{"prompt":"hi"}',
    headers: {'Content-Type': 'application/json', Authorization: 'Bearer t0k'},
    lastEventId: '41',
  })
  const got = await collect(es, ['method', 'headers', 'last_event_id', 'body'], (e) => e.length === 4)
  es.close()
  const by = Object.fromEntries(got.map((e) => [e.type, e.data]))
  assert.equal(by.method, 'POST')
  assert.equal(by.body, '{"prompt":"hi"}')
  assert.equal(by.last_event_id, '41')
  const headers = JSON.parse(by.headers)
  assert.equal(headers.authorization, 'Bearer t0k')
  assert.equal(headers['content-type'], 'application/json')
})

test('an async headers function is called before every connect', async () => {
  await fetch(server.url('/_reset'))
  let calls = 0
  const es = new EventSource(server.url('/echo'), {
    ...fast,
    headers: async () => {
      calls++
      await sleep(5)
      // The second answer drops X-First: it must not be sent again.
      return calls === 1 ? {'X-Token': `token-${calls}`, 'X-First': 'yes'} : {'X-Token': `token-${calls}`}
    },
  })
  const seen = await collect(es, ['headers'], (e) => e.length === 2)
  es.close()
  const tokens = seen.map((e) => JSON.parse(e.data))
  assert.equal(tokens[0]['x-token'], 'token-1')
  assert.equal(tokens[0]['x-first'], 'yes')
  assert.equal(tokens[1]['x-token'], 'token-2')
  assert.equal(tokens[1]['x-first'], undefined)
  assert.ok(calls >= 2)
})

test('a headers function that throws fails the stream with SSEKIT_E_HOOK', async () => {
  const es = new EventSource(server.url('/echo'), {headers: async () => { throw new Error('no token') }})
  const ev = await once(es, 'error')
  assert.equal(ev.code, 'SSEKIT_E_HOOK')
  assert.equal(ev.error.message, 'no token')
  assert.match(ev.message, /no token/)
  assert.equal(es.readyState, EventSource.CLOSED)
})

test('a headers function returning an invalid header fails with SSEKIT_E_HOOK naming it', async () => {
  const es = new EventSource(server.url('/echo'), {headers: async () => ({'X-Ok': '1', 'Bad Name': 'secret'})})
  const ev = await once(es, 'error')
  assert.equal(ev.code, 'SSEKIT_E_HOOK')
  assert.ok(ev.error instanceof TypeError)
  assert.match(ev.message, /invalid header from the headers function: Bad Name/)
  assert.doesNotMatch(ev.message, /secret/)
  assert.equal(es.readyState, EventSource.CLOSED)
})

test('a headers function that never settles times out and is called again', async () => {
  await fetch(server.url('/_reset'))
  let calls = 0
  const es = new EventSource(server.url('/echo'), {
    ...fast,
    connectTimeout: 200,
    headers: () => (++calls === 1 ? new Promise(() => {}) : {'X-Call': String(calls)}),
  })
  const started = performance.now()
  const ev = await once(es, 'error')
  assert.ok(performance.now() - started >= 150, 'waited for the connect timeout')
  assert.equal(ev.code, 'SSEKIT_E_CONNECT_TIMEOUT')
  assert.match(ev.message, /headers hook did not answer/)
  assert.equal(es.readyState, EventSource.CONNECTING)
  const [headers] = await collect(es, ['headers'], (e) => e.length === 1)
  es.close()
  assert.equal(JSON.parse(headers.data)['x-call'], '2')
  assert.equal(calls, 2)
})

test('a headers answer that comes after the connect timeout does not answer the next attempt', async () => {
  await fetch(server.url('/_reset'))
  let calls = 0
  // Call 1 answers at 1500 ms, after the 1000 ms timeout, while call 2
  // (made at about 1020 ms, after the reconnect's delay) is pending until
  // about 1720 ms, within its own timeout.
  const es = new EventSource(server.url('/echo?end=hang'), {
    ...fast,
    connectTimeout: 1000,
    headers: () => {
      const call = ++calls
      return sleep(call === 1 ? 1500 : call === 2 ? 700 : 0).then(() => ({'X-Call': String(call)}))
    },
  })
  const errors = []
  es.onerror = (ev) => errors.push(ev.code)
  const [headers] = await collect(es, ['headers'], (e) => e.length === 1)
  es.close()
  assert.deepEqual(errors, ['SSEKIT_E_CONNECT_TIMEOUT'])
  // The first request that went out carries call 2's answer.
  assert.equal(JSON.parse(headers.data)['x-call'], '2')
  assert.equal(calls, 2)
})

test('a constructor that throws leaves nothing on its AbortSignal', async () => {
  const {getEventListeners} = await import('node:events')
  const ac = new AbortController()
  assert.throws(() => new EventSource(server.url('/events'), {method: 'BAD METHOD', signal: ac.signal}), /method/)
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  // Not /events: a request still on its way after close() would count in
  // the next test's log of /events.
  const es = new EventSource(server.url('/echo?end=hang'), {signal: ac.signal})
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1)
  es.close()
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
})

test('an AbortSignal closes the stream; an aborted one never connects', async () => {
  await fetch(server.url('/_reset'))
  const ac = new AbortController()
  const es = new EventSource(server.url('/events?count=-1&interval_ms=10'), {signal: ac.signal})
  await collect(es, ['message'], (e) => e.length === 2)
  ac.abort()
  assert.equal(es.readyState, EventSource.CLOSED)
  let after = 0
  es.onmessage = () => { after++ }
  await sleep(100)
  assert.equal(after, 0)
  const pre = new EventSource(server.url('/events?count=1&key=aborted'), {signal: AbortSignal.abort()})
  assert.equal(pre.readyState, EventSource.CLOSED)
  await sleep(100)
  assert.equal((await requests(server, '/events')).length, 1)
})

test('no event is dispatched after close(), even from the same batch', async () => {
  const es = new EventSource(server.url('/events?count=50'))
  const seen = []
  es.onmessage = (e) => {
    seen.push(e.data)
    if (seen.length === 3) es.close()
  }
  await sleep(300)
  assert.deepEqual(seen, ['event 1', 'event 2', 'event 3'])
})

test('oneShot and doneSentinel finish the stream without an error', async () => {
  const es = new EventSource(server.url('/events?count=3&done=1'), {oneShot: true, doneSentinel: '[DONE]'})
  const messages = []
  let errors = 0
  es.onmessage = (e) => messages.push(e.data)
  es.onerror = () => { errors++ }
  while (es.readyState !== EventSource.CLOSED) await sleep(10)
  assert.deepEqual(messages, ['event 1', 'event 2', 'event 3'])
  assert.equal(errors, 0)
})

test('invalid UTF-8 becomes U+FFFD and split sequences decode', async () => {
  const es = new EventSource(server.url('/invalid-utf8?delay_ms=1'))
  const got = await collect(es, ['message'], (e) => e.length === 9)
  es.close()
  assert.deepEqual(got.map((e) => e.data), [
    'a\ufffdb', 'euro \u20ac end', 'smile \u{1f600}', 'cut \ufffd(', 'overlong \ufffd\ufffd',
    'surrogate \ufffd\ufffd\ufffd', 'lone \ufffd\ufffd', 'tail \ufffd', 'ok'])
})

test('a stream of many events arrives complete and in order', async () => {
  const n = 20000
  const es = new EventSource(server.url(`/events?count=${n}`))
  let next = 1
  let bad = 0
  await new Promise((resolve) => {
    es.onmessage = (e) => {
      if (e.data !== `event ${next}` || e.lastEventId !== String(next)) bad++
      if (next++ === n) resolve()
    }
  })
  es.close()
  assert.equal(bad, 0)
})

test('read timeout reconnects a stalled stream', async () => {
  const es = new EventSource(server.url('/stall?after=1&ms=3000'), {...fast, readTimeout: 200})
  const ev = await once(es, 'error')
  es.close()
  assert.equal(ev.code, 'SSEKIT_E_READ_TIMEOUT')
  assert.equal(ev.willRetry, true)
})

test('the proxy option sends the request through the proxy', async () => {
  // The test server routes absolute-form targets by path: it can be the proxy.
  const es = new EventSource('http://stream.example.invalid/echo?via=proxy', {proxy: server.base})
  const [target] = await collect(es, ['target'], (e) => e.length === 1)
  es.close()
  assert.equal(target.data, 'http://stream.example.invalid/echo?via=proxy')
})
