// The shared parser cases (tests/cases/parser.json) through ssekit.Parser:
// each case's input fed whole, split in two at every offset, and one byte
// at a time; plus the encoder, round-tripped through the parser.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {Parser, ParseError, parse, encode, encodeComment} from 'ssekit'
import {root, runNode} from './helpers.mjs'

const {cases} = JSON.parse(readFileSync(path.join(root, 'tests/cases/parser.json'), 'utf8'))

const errorNames = {SSEKIT_E_LINE_TOO_LONG: 'line_too_long', SSEKIT_E_EVENT_TOO_LARGE: 'event_too_large'}

function inputBytes(c) {
  if (c.input_hex !== undefined) return Buffer.from(c.input_hex.replace(/\s+/g, ''), 'hex')
  return Buffer.from(c.input, 'utf8')
}

// Feeds the chunks, then finishes; returns the log in parser.json's form.
function replay(c, chunks) {
  const log = []
  const opts = c.options ?? {}
  const p = new Parser({
    onEvent: (e) => log.push({event: e.type, data: e.data, id: e.lastEventId}),
    onComment: (text) => log.push({comment: text}),
    onRetry: (ms) => log.push({retry: ms}),
    maxLine: opts.max_line,
    maxEvent: opts.max_event,
  })
  try {
    for (const chunk of chunks) p.feed(chunk)
    p.finish()
  } catch (err) {
    assert.ok(err instanceof ParseError, `${c.name}: unexpected ${err}`)
    log.push({error: errorNames[err.code] ?? err.code})
    // The error sticks until reset.
    assert.throws(() => p.feed(Buffer.from('data: x\n\n')), ParseError)
  }
  return log
}

test('parser.json has cases', () => {
  assert.ok(cases.length > 100)
})

for (const c of cases) {
  test(`parser case: ${c.name}`, () => {
    const bytes = inputBytes(c)
    assert.deepEqual(replay(c, [bytes]), c.expect, 'whole')
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(replay(c, [bytes.subarray(0, cut), bytes.subarray(cut)]), c.expect, `split at ${cut}`)
    }
    const single = []
    for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1))
    assert.deepEqual(replay(c, single), c.expect, 'one byte at a time')
  })
}

test('Parser accepts strings, and its lastEventId persists', () => {
  const events = []
  const p = new Parser({onEvent: (e) => events.push(e)})
  p.feed('id: 7\ndata: caf\u00e9\n\ndata: x\n')
  p.feed('\n')
  assert.deepEqual(events, [
    {type: 'message', data: 'caf\u00e9', lastEventId: '7'},
    {type: 'message', data: 'x', lastEventId: '7'},
  ])
  assert.equal(p.lastEventId, '7')
  p.reset()
  assert.equal(p.lastEventId, '')
})

test('an exception thrown by a Parser callback comes out of feed()', () => {
  const boom = new Error('boom')
  const p = new Parser({onEvent: () => { throw boom }})
  assert.throws(() => p.feed('data: a\n\n'), (err) => err === boom)
  // The parser was reset and works again.
  const seen = []
  const q = new Parser({onEvent: (e) => seen.push(e.data)})
  q.feed('data: b\n\n')
  assert.deepEqual(seen, ['b'])
})

test('a Parser may not be fed again from its own callbacks', () => {
  const seen = []
  const p = new Parser({onEvent: (e) => {
    seen.push(e.data)
    p.feed('data: nested\n\n')
  }})
  assert.throws(() => p.feed('data: a\n\ndata: b\n\n'), /own callbacks/)
  assert.deepEqual(seen, ['a'])
})

test('a buffer transferred away by a callback does not change what feed() parses', () => {
  const bytes = new TextEncoder().encode('data: one\n\n' + 'data: two\n\n'.repeat(1000))
  const seen = []
  const p = new Parser({onEvent: (e) => {
    // Detaches bytes.buffer while feed() is still parsing it.
    if (seen.length === 0) structuredClone(bytes.buffer, {transfer: [bytes.buffer]})
    seen.push(e.data)
  }})
  p.feed(bytes)
  assert.equal(seen.length, 1001)
  assert.deepEqual([seen[0], seen[1000]], ['one', 'two'])
})

test('parse() returns the events of a complete stream and drops an unterminated one', () => {
  assert.deepEqual(parse('event: a\ndata: 1\n\ndata: 2'), [{type: 'a', data: '1', lastEventId: ''}])
})

test('encode() output parses back to the same event', () => {
  const samples = [
    {data: 'plain'},
    {event: 'update', id: '42', data: 'line 1\nline 2\n\nline 4'},
    {type: 'x', data: ''},
    {data: '\u65e5\u672c \u{1f680}', id: 'a b'},
    {data: {json: [1, 2]}},
  ]
  for (const s of samples) {
    const text = encode(s)
    assert.ok(text.endsWith('\n\n'), text)
    const [ev] = parse(text)
    const data = typeof s.data === 'string' ? s.data : JSON.stringify(s.data)
    assert.deepEqual(ev, {type: s.event ?? s.type ?? 'message', data, lastEventId: s.id ?? ''})
  }
  assert.match(encode({data: 'x', retry: 1500}), /^retry: 1500$/m)
  const retries = []
  new Parser({onRetry: (ms) => retries.push(ms)}).feed(encode({data: 'x', retry: 1500}))
  assert.deepEqual(retries, [1500])
})

test('encode() refuses an id or type holding a line break', () => {
  assert.throws(() => encode({id: 'a\nb', data: 'x'}), TypeError)
  assert.throws(() => encode({event: 'a\rb', data: 'x'}), TypeError)
})

test('encodeComment() writes comment lines the parser reports', () => {
  const comments = []
  const text = encodeComment('keep-alive\nsecond')
  new Parser({onComment: (c) => comments.push(c)}).feed(text)
  assert.deepEqual(comments, ['keep-alive', 'second'])
  assert.deepEqual(parse(text), [])
})

test('a Parser whose callbacks refer to it is garbage-collected', async () => {
  const source = `
    import {Parser} from 'ssekit'
    let freed = 0
    const registry = new FinalizationRegistry(() => { freed++ })
    for (let i = 0; i < 200; i++) {
      const p = new Parser({onEvent: () => p.lastEventId})
      p.feed('data: x\\n\\n')
      registry.register(p, i)
    }
    for (let i = 0; i < 10 && freed < 190; i++) {
      globalThis.gc()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    console.log(freed)
  `
  const r = await runNode(source, {args: ['--expose-gc']})
  assert.equal(r.code, 0, r.stderr)
  assert.ok(Number(r.stdout) >= 190, `only ${r.stdout.trim()} of 200 parsers were collected`)
})
