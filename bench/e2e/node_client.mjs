// The Node contenders of the end-to-end client benchmark, draining a whole
// event stream from w1_sender once per run:
//   eventsource  the npm EventSource client, counting `message` events until
//                the expected number arrived, then closing it
//   fetch        Node's fetch, a streaming TextDecoder and eventsource-parser,
//                read to the end of the body
// Prints one JSON object on stdout.
//
// usage: node node_client.mjs eventsource|fetch URL EVENTS DATA_BYTES
//          ITERATIONS WARMUP

import {createRequire} from 'node:module'
import {performance} from 'node:perf_hooks'
import {EventSource} from 'eventsource'
import {createParser} from 'eventsource-parser'

const require = createRequire(import.meta.url)
const versionOf = (name) => require(`${name}/package.json`).version

function fail(message) {
  console.error(`node_client: FAILED: ${message}`)
  process.exit(1)
}

function drainEventSource(url, expected) {
  return new Promise((resolve, reject) => {
    let events = 0
    let dataUnits = 0
    const start = performance.now()
    const es = new EventSource(url)
    es.onmessage = (event) => {
      events++
      dataUnits += event.data.length
      if (events === expected) {
        es.close()
        resolve({seconds: (performance.now() - start) / 1000, events, dataUnits})
      }
    }
    es.onerror = (event) => {
      // The server's close after the last event is an error to EventSource;
      // before it, the run is broken.
      if (events < expected) {
        es.close()
        reject(new Error(`EventSource error after ${events} events: ${event.message}`))
      }
    }
  })
}

async function drainFetch(url) {
  let events = 0
  let dataUnits = 0
  const parser = createParser({
    onEvent(event) {
      events++
      dataUnits += event.data.length
    },
    onError(error) {
      fail(`parse error: ${error.message}`)
    },
  })
  const start = performance.now()
  const response = await fetch(url, {headers: {accept: 'text/event-stream'}})
  if (response.status !== 200) fail(`HTTP status ${response.status}`)
  const decoder = new TextDecoder('utf-8')
  const reader = response.body.getReader()
  for (;;) {
    const {done, value} = await reader.read()
    if (done) break
    parser.feed(decoder.decode(value, {stream: true}))
  }
  const rest = decoder.decode()
  if (rest.length > 0) parser.feed(rest)
  return {seconds: (performance.now() - start) / 1000, events, dataUnits}
}

async function main() {
  const [mode, url, eventsArg, dataArg, iterationsArg, warmupArg] = process.argv.slice(2)
  const expected = Number(eventsArg)
  const dataBytes = Number(dataArg)
  const iterations = Number(iterationsArg)
  const warmup = Number(warmupArg)
  if (!['eventsource', 'fetch'].includes(mode) || url === undefined || !(expected > 0) ||
      !(dataBytes >= 0) || !(iterations >= 1) || !(warmup >= 0)) {
    console.error('usage: node node_client.mjs eventsource|fetch URL EVENTS DATA_BYTES ITERATIONS WARMUP')
    process.exit(2)
  }
  const runs = []
  for (let i = 0; i < warmup + iterations; i++) {
    if (typeof globalThis.gc === 'function') globalThis.gc()
    const run = mode === 'eventsource' ? await drainEventSource(url, expected) : await drainFetch(url)
    // The data is ASCII, so UTF-16 code units equal the sender's data bytes.
    if (run.events !== expected || run.dataUnits !== dataBytes) {
      fail(`${mode}: ${run.events} events with ${run.dataUnits} data units, ` +
        `expected ${expected} and ${dataBytes}`)
    }
    if (i >= warmup) runs.push({seconds: run.seconds, events: run.events})
  }
  const versions = mode === 'eventsource'
    ? {eventsource: versionOf('eventsource')}
    : {'eventsource-parser': versionOf('eventsource-parser')}
  console.log(JSON.stringify({contender: mode, node: process.version, versions, runs}))
}

main().catch((error) => fail(error.stack ?? String(error)))
