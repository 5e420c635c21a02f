// Against a real better-sse server (tests/interop/better_sse_server.mjs):
// `field:value` lines without a space, a `retry` block first, multi-line
// and non-ASCII data, resuming from Last-Event-ID, 204 to stop, POST.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {EventSource, connect} from 'ssekit'
import {startBetterSse, collect} from './helpers.mjs'

let server
before(async () => { server = await startBetterSse() })
after(async () => { await server.stop() })

function expected(i) {
  if (i % 3 === 1) return ['tick', `tick ${i}`]
  if (i % 3 === 2) return ['multi', `first line of ${i}\nsecond line\n\nfourth line after an empty one`]
  return ['unicode', `h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \u{1f680} ${i}`]
}

test('numbered events of every shape arrive intact through EventSource', async () => {
  const es = new EventSource(server.url('/stream?count=6'))
  const got = await collect(es, ['tick', 'multi', 'unicode'], (e) => e.length === 6)
  es.close()
  assert.deepEqual(got.map((e) => [e.type, e.data, e.lastEventId]),
    [1, 2, 3, 4, 5, 6].map((i) => [...expected(i), String(i)]))
})

test('a reconnect resumes after Last-Event-ID, and 204 stops the stream', async () => {
  const es = new EventSource(server.url('/close-after?n=2&total=5'),
    {reconnect: {initialDelay: 10, minDelay: 10}})
  const got = []
  const states = []
  for (const t of ['tick', 'multi', 'unicode']) es.addEventListener(t, (e) => got.push(Number(e.lastEventId)))
  const end = await new Promise((resolve) => {
    es.onerror = (e) => {
      states.push(es.readyState)
      if (es.readyState === EventSource.CLOSED) resolve(e)
    }
  })
  assert.deepEqual(got, [1, 2, 3, 4, 5])
  assert.equal(end.status, 204)
  // Three ends of a body (after 2, 4 and 5), then the 204.
  assert.deepEqual(states, [0, 0, 0, 2])
})

test('a POSTed prompt streams back token by token until [DONE]', async () => {
  const tokens = []
  const stream = connect(server.url('/post'), {
    method: 'POST', body: JSON.stringify({prompt: 'the quick brown fox'}),
    headers: {'content-type': 'application/json'}, doneSentinel: '[DONE]',
  })
  for await (const ev of stream) tokens.push(ev.json().token)
  assert.deepEqual(tokens, ['the ', 'quick ', 'brown ', 'fox'])
})
