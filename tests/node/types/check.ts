// Compiled by modules.test.mjs (tsc --noEmit), under the DOM library and
// under @types/node: ssekit's types must fit where the standard's do.
import ssekit, {EventSource, connect, Parser, encode, type SSEErrorEvent, type SSEMessageEvent} from 'ssekit'

const es = new EventSource('http://127.0.0.1:1/events', {
  withCredentials: false,
  headers: async () => ({authorization: 'Bearer x'}),
  reconnect: {initialDelay: 100, maxAttempts: 3},
  signal: new AbortController().signal,
  doneSentinel: '[DONE]',
})
es.onmessage = (ev) => {
  const data: string = ev.data
  const id: string = ev.lastEventId
  void data
  void id
}
es.onerror = function (ev: SSEErrorEvent) {
  const status: number | undefined = ev.status
  const body: string | undefined = ev.body
  void status
  void body
  this.close()
}
es.addEventListener('update', (ev: SSEMessageEvent) => void ev.data)
es.addEventListener('error', (ev) => void ev.code)
es.addEventListener('message', {handleEvent: (ev: SSEMessageEvent) => void ev.origin})
const state: 0 | 1 | 2 = EventSource.OPEN
void state

async function consume(): Promise<number> {
  let n = 0
  for await (const ev of connect(new URL('http://127.0.0.1:1/x'), {oneShot: true})) n += ev.data.length
  return n
}
void consume
new Parser({onEvent: (e) => void e.type}).feed(new Uint8Array(0))
const text: string = encode({event: 'x', data: {a: 1}, id: '1', retry: 10})
void text
void ssekit.version
