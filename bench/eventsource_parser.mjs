// Throughput of the npm eventsource-parser on the workloads written by
// ssekit_gen_workloads, fed in the same chunks as the C++ benchmark. Each
// chunk goes through a streaming TextDecoder first, because the JavaScript
// parser takes strings and UTF-8 decoding is part of the work ssekit does.
//
// usage: node eventsource_parser.mjs WORKLOAD_DIR [--json OUT] [--warmup N]
//          [--runs N] [--min-time SECONDS]
// Timed runs repeat until at least N runs and SECONDS of parsing are done.

import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {createRequire} from 'node:module'
import {createParser} from 'eventsource-parser'

const require = createRequire(import.meta.url)
const parserVersion = require('eventsource-parser/package.json').version

function parseArgs(argv) {
  const opts = {dir: undefined, json: undefined, warmup: 3, runs: 10, minTime: 2}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--json') opts.json = argv[++i]
    else if (arg === '--warmup') opts.warmup = Number(argv[++i])
    else if (arg === '--runs') opts.runs = Number(argv[++i])
    else if (arg === '--min-time') opts.minTime = Number(argv[++i])
    else if (opts.dir === undefined) opts.dir = arg
    else throw new Error(`unexpected argument: ${arg}`)
  }
  if (opts.dir === undefined || !(opts.runs >= 1) || !(opts.warmup >= 0) || !(opts.minTime >= 0)) {
    console.error('usage: node eventsource_parser.mjs WORKLOAD_DIR [--json OUT] [--warmup N] [--runs N] [--min-time SECONDS]')
    process.exit(2)
  }
  return opts
}

function fail(message) {
  console.error(`eventsource_parser: FAILED: ${message}`)
  process.exit(1)
}

// One pass over the stream; returns the seconds spent decoding and parsing.
function runOnce(chunks, tally) {
  tally.events = 0
  tally.comments = 0
  tally.retries = 0
  tally.dataUnits = 0
  tally.lastId = ''
  const parser = createParser({
    onEvent(event) {
      tally.events++
      tally.dataUnits += event.data.length
      // This parser reports only the id set within the event, not the
      // stream's persistent last event ID, so keep the latest one seen.
      if (event.id !== undefined) tally.lastId = event.id
    },
    onRetry() {
      tally.retries++
    },
    onComment() {
      tally.comments++
    },
    onError(error) {
      fail(`parse error: ${error.message}`)
    },
  })
  const decoder = new TextDecoder('utf-8')
  const start = performance.now()
  for (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, {stream: true}))
  }
  const rest = decoder.decode()
  if (rest.length > 0) parser.feed(rest)
  return (performance.now() - start) / 1000
}

function check(w, tally) {
  const expect = (what, got, want) => {
    if (got !== want) fail(`${w.name}: ${what}: got ${got}, expected ${want}`)
  }
  expect('events', tally.events, w.events)
  expect('comments', tally.comments, w.comments)
  expect('retries', tally.retries, w.retries)
  // The workloads are ASCII, so UTF-16 code units equal UTF-8 bytes.
  expect('data bytes', tally.dataUnits, w.data_bytes)
  expect('last event id', tally.lastId, w.last_id)
}

function main() {
  const opts = parseArgs(process.argv.slice(2))
  const manifest = JSON.parse(readFileSync(join(opts.dir, 'manifest.json'), 'utf8'))
  const chunkSize = manifest.chunk_size
  const results = []
  console.log(`eventsource-parser ${parserVersion}, node ${process.version}, ` +
    `${opts.warmup} warm-up runs, then at least ${opts.runs} runs and ${opts.minTime} s, ` +
    `${chunkSize}-byte chunks`)

  for (const w of manifest.workloads) {
    const bytes = readFileSync(join(opts.dir, w.file))
    if (bytes.length !== w.bytes) fail(`${w.file}: ${bytes.length} bytes, expected ${w.bytes}`)
    const chunks = []
    for (let off = 0; off < bytes.length; off += chunkSize) {
      chunks.push(bytes.subarray(off, Math.min(off + chunkSize, bytes.length)))
    }

    const tally = {}
    for (let i = 0; i < opts.warmup; i++) {
      runOnce(chunks, tally)
      check(w, tally)
    }
    const times = []
    let total = 0
    while (times.length < opts.runs || total < opts.minTime) {
      if (typeof globalThis.gc === 'function') globalThis.gc()
      const seconds = runOnce(chunks, tally)
      check(w, tally)
      times.push(seconds)
      total += seconds
    }

    const result = {
      name: w.name,
      description: w.description,
      bytes: w.bytes,
      events: w.events,
      runs: times.length,
      seconds: times,
      bytes_per_second: (w.bytes * times.length) / total,
      events_per_second: (w.events * times.length) / total,
    }
    results.push(result)
    const best = Math.min(...times)
    const worst = Math.max(...times)
    console.log(`${w.name} (${w.description}): ` +
      `${(result.bytes_per_second / 1e6).toFixed(1)} MB/s, ` +
      `${(result.events_per_second / 1e6).toFixed(3)} M events/s ` +
      `(${times.length} runs of ${best.toFixed(3)}-${worst.toFixed(3)} s, events verified)`)
  }

  if (opts.json !== undefined) {
    const out = {
      parser: 'eventsource-parser',
      version: parserVersion,
      node: process.version,
      chunk_size: chunkSize,
      warmup: opts.warmup,
      results,
    }
    writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`)
  }
}

main()
