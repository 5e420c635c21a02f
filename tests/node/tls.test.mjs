// TLS options against the test server's TLS listener (its own throwaway CA).
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {EventSource, connect} from 'ssekit'
import {startTestServer, once, collect} from './helpers.mjs'

let server
before(async () => { server = await startTestServer(['--tls']) })
after(async () => { await server.stop() })

test('caFile trusts the server', async () => {
  const got = []
  for await (const ev of connect(server.url('/events?count=2'), {caFile: server.info.ca_file, oneShot: true})) got.push(ev.data)
  assert.deepEqual(got, ['event 1', 'event 2'])
})

test('a certificate that does not verify fails the stream', async () => {
  // The system's CAs do not know the server's throwaway one.
  const es = new EventSource(server.url('/events?count=1'), {reconnect: {maxAttempts: 1}})
  const ev = await once(es, 'error')
  assert.equal(es.readyState, EventSource.CLOSED)
  assert.match(ev.code, /SSEKIT_E_(TLS|RETRIES_EXHAUSTED)/)
})

test('insecure skips verification', async () => {
  const es = new EventSource(server.url('/events?count=1'), {insecure: true})
  const [m] = await collect(es, ['message'], (e) => e.length === 1)
  es.close()
  assert.equal(m.data, 'event 1')
})

test('a client certificate is presented', async () => {
  const es = new EventSource(server.url('/echo'), {
    caFile: server.info.ca_file, certFile: server.info.client_cert, keyFile: server.info.client_key,
  })
  const [cn] = await collect(es, ['client_cert'], (e) => e.length === 1)
  es.close()
  assert.equal(cn.data, 'ssekit test client')
})
