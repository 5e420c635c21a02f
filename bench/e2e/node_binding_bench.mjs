// The Node binding benchmark: W1 from the local C sender (w1_sender),
// drained by ssekit's EventSource (onmessage) and async iterator, beside npm
// eventsource, undici's EventSource and fetch + eventsource-parser, in the
// same run against the same sender. Each contender runs in its own process
// (node_binding_client.mjs); each event's data is touched (its length
// summed). Prints a markdown table and the targets.
//
// usage: node node_binding_bench.mjs --sender PATH [--iterations N] [--warmup N]
//          [--contenders a,b,...]

import {spawn, execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {setTimeout as sleep} from 'node:timers/promises'

const here = path.dirname(fileURLToPath(import.meta.url))
const {values: args} = parseArgs({
  options: {
    sender: {type: 'string'},
    iterations: {type: 'string', default: '5'},
    warmup: {type: 'string', default: '1'},
    contenders: {type: 'string', default: 'ssekit-es,ssekit-iter,eventsource,undici,fetch'},
  },
})
if (!args.sender) {
  console.error('usage: node node_binding_bench.mjs --sender PATH [--iterations N] [--warmup N]')
  process.exit(2)
}

const labels = {
  'ssekit-es': 'ssekit EventSource, onmessage',
  'ssekit-iter': 'ssekit connect(), for await',
  eventsource: 'npm eventsource, onmessage',
  undici: "undici's EventSource, onmessage",
  fetch: 'fetch + eventsource-parser',
}

async function startSender() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssekit-node-bench-'))
  const ready = path.join(dir, 'ready.json')
  // The sender exits when our end of its stdin closes, even if we die.
  const child = spawn(args.sender, ['--ready-file', ready, '--watch-stdin', '--max-lifetime', '7200'],
    {stdio: ['pipe', 'ignore', 'inherit']})
  for (let i = 0; i < 2400 && !existsSync(ready); i++) await sleep(50)
  if (!existsSync(ready)) throw new Error('the sender did not start')
  const info = JSON.parse(readFileSync(ready, 'utf8'))
  return {info, stop: () => { child.stdin.end(); rmSync(dir, {recursive: true, force: true}) }}
}

function runContender(mode, url, info) {
  const argv = ['--expose-gc', path.join(here, 'node_binding_client.mjs'), mode, url,
    String(info.w1_events), String(info.w1_data_bytes), args.iterations, args.warmup]
  const out = execFileSync(process.execPath, argv, {encoding: 'utf8', maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'pipe'], timeout: 1800_000})
  return JSON.parse(out.trim().split('\n').pop())
}

const fmt = (v, d = 2) => v.toLocaleString('en-US', {minimumFractionDigits: d, maximumFractionDigits: d})

const sender = await startSender()
const {info} = sender
const url = `http://127.0.0.1:${info.port}/w1`
const results = {}
const rows = []
let failed = false
try {
  for (const mode of args.contenders.split(',')) {
    process.stderr.write(`node binding bench: ${labels[mode] ?? mode} ...\n`)
    try {
      const r = runContender(mode, url, info)
      const secs = r.runs.map((x) => x.seconds).sort((a, b) => a - b)
      const best = secs[0]
      const median = secs[Math.floor(secs.length / 2)]
      results[mode] = {best: info.w1_events / best, median: info.w1_events / median}
      rows.push(`| ${labels[mode]} | ${r.version} | ${fmt(info.w1_events / best / 1e6)} | ` +
        `${fmt(info.w1_events / median / 1e6)} | ${fmt(info.w1_bytes / median / 1e6, 0)} | ${fmt(median * 1e3, 1)} |`)
    } catch (err) {
      failed = true
      rows.push(`| ${labels[mode] ?? mode} | | failed: ${String(err.stderr ?? err.message).trim().split('\n').pop()} | | | |`)
    }
  }
} finally {
  sender.stop()
}

const ratio = (a, b) => (results[a] && results[b] ? results[a].median / results[b].median : NaN)
const esRatio = ratio('ssekit-es', 'eventsource')
const iterRatio = ratio('ssekit-iter', 'fetch')
const verdict = (r) => (Number.isNaN(r) ? 'not measured' : r >= 2 ? 'met' : 'MISSED')
console.log([
  '### Node binding: draining W1',
  '',
  `W1: ${info.w1_events.toLocaleString('en-US')} LLM-token events, ${fmt(info.w1_bytes / 1e6, 1)} MB, ` +
  `sent close-delimited over loopback HTTP/1.1 by w1_sender; each contender drains it ${args.iterations} ` +
  `times after ${args.warmup} warm-up run(s), in its own process, touching every event's data. ` +
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| contender | version | best M events/s | median M events/s | median MB/s | median ms/run |',
  '|---|---|---:|---:|---:|---:|',
  ...rows,
  '',
  `EventSource path / npm eventsource (medians): ${fmt(esRatio)}x, target >= 2x: ${verdict(esRatio)}.`,
  `Async iterator / fetch + eventsource-parser (medians): ${fmt(iterRatio)}x, target >= 2x: ${verdict(iterRatio)}.`,
].join('\n'))
process.exit(failed ? 1 : 0)
