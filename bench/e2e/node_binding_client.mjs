// One contender of the Node binding benchmark, draining the W1 stream from
// w1_sender once per run, each event's data touched (its length summed):
//   ssekit-es       ssekit's EventSource, an onmessage listener
//   ssekit-iter     for await (const ev of ssekit.connect(url))
//   eventsource     npm eventsource's EventSource, onmessage
//   undici          undici's EventSource, onmessage
//   fetch           Node's fetch, a streaming TextDecoder and eventsource-parser
// The EventSource contenders count events until the expected number arrived,
// then close; the others read to the end of the body. Prints one JSON object.
//
// usage: node node_binding_client.mjs MODE URL EVENTS DATA_UNITS ITERATIONS WARMUP

import {createRequire} from 'node:module'
import {performance} from 'node:perf_hooks'

const require = createRequire(import.meta.url)

function fail(message) {
  console.error(`node_binding_client: FAILED: ${message}`)
  process.exit(1)
}

function drainEventSource(EventSourceClass, url, expected, init) {
  return new Promise((resolve, reject) => {
    let events = 0
    let dataUnits = 0
    const start = performance.now()
    const es = new EventSourceClass(url, init)
    es.onmessage = (event) => {
      events++
      dataUnits += event.data.length
      if (events === expected) {
        es.close()
        resolve({seconds: (performance.now() - start) / 1000, events, dataUnits})
      }
    }
    es.onerror = (event) => {
      // The sender closes after the last event; before it, the run is broken.
      if (events < expected) {
        es.close()
        reject(new Error(`EventSource error after ${events} events: ${event.message}`))
      }
    }
  })
}

async function drainIterator(ssekit, url) {
  let events = 0
  let dataUnits = 0
  const start = performance.now()
  // The sender ends the body after the last event: a one-shot stream.
  for await (const ev of ssekit.connect(url, {oneShot: true})) {
    events++
    dataUnits += ev.data.length
  }
  return {seconds: (performance.now() - start) / 1000, events, dataUnits}
}

async function drainFetch(createParser, url) {
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

async function contender(mode) {
  const versionOf = (name) => require(`${name}/package.json`).version
  switch (mode) {
    case 'ssekit-es': {
      const ssekit = (await import('../../bindings/node/lib/index.mjs')).default
      return {version: ssekit.version, run: (url, n) => drainEventSource(ssekit.EventSource, url, n)}
    }
    case 'ssekit-iter': {
      const ssekit = (await import('../../bindings/node/lib/index.mjs')).default
      return {version: ssekit.version, run: (url) => drainIterator(ssekit, url)}
    }
    case 'eventsource': {
      const {EventSource} = await import('eventsource')
      return {version: versionOf('eventsource'), run: (url, n) => drainEventSource(EventSource, url, n)}
    }
    case 'undici': {
      const {EventSource} = await import('undici')
      return {version: versionOf('undici'), run: (url, n) => drainEventSource(EventSource, url, n)}
    }
    case 'fetch': {
      const {createParser} = await import('eventsource-parser')
      return {version: versionOf('eventsource-parser'), run: (url) => drainFetch(createParser, url)}
    }
    default:
      return null
  }
}

async function main() {
  const [mode, url, eventsArg, dataArg, iterationsArg, warmupArg] = process.argv.slice(2)
  const expected = Number(eventsArg)
  const dataUnits = Number(dataArg)
  const iterations = Number(iterationsArg)
  const warmup = Number(warmupArg)
  const c = await contender(mode)
  if (c === null || url === undefined || !(expected > 0) || !(dataUnits >= 0) ||
      !(iterations >= 1) || !(warmup >= 0)) {
    console.error('usage: node node_binding_client.mjs ssekit-es|ssekit-iter|eventsource|undici|fetch ' +
      'URL EVENTS DATA_UNITS ITERATIONS WARMUP')
    process.exit(2)
  }
  const runs = []
  for (let i = 0; i < warmup + iterations; i++) {
    if (typeof globalThis.gc === 'function') globalThis.gc()
    const run = await c.run(url, expected)
    // The data is ASCII: UTF-16 code units equal the sender's data bytes.
    if (run.events !== expected || run.dataUnits !== dataUnits) {
      fail(`${mode}: ${run.events} events with ${run.dataUnits} data units, ` +
        `expected ${expected} and ${dataUnits}`)
    }
    if (i >= warmup) runs.push({seconds: run.seconds, events: run.events})
  }
  console.log(JSON.stringify({contender: mode, version: c.version, node: process.version, runs}))
}

main().catch((error) => fail(error.stack ?? String(error)))
