// Must NOT compile: modules.test.mjs checks that tsc rejects it, so the
// type checks above are known to be able to fail.
import {EventSource} from 'ssekit'

const es = new EventSource('http://127.0.0.1:1/events')
const n: number = es.url
void n
