// Under the DOM library: ssekit's EventSource where the standard's is
// expected.
import {EventSource} from 'ssekit'

const es = new EventSource('http://127.0.0.1:1/events')
const standard: globalThis.EventSource = es
standard.onmessage = (ev: MessageEvent) => void ev.data
standard.addEventListener('message', (ev) => void ev.data)
function takesStandard(source: globalThis.EventSource): number {
  return source.readyState
}
void takesStandard(es)
