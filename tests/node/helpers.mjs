// Shared fixtures of the Node binding's tests: the project's fault-injecting
// server and the better-sse server as subprocesses on 127.0.0.1, a child
// Node process runner, and small waiting helpers. No mocks: every test talks
// real HTTP to one of these servers.
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {setTimeout as sleep} from 'node:timers/promises'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

async function startServer(argv, cwd) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssekit-node-test-'))
  const ready = path.join(dir, 'ready.json')
  // --watch-stdin: the server stops when our end of the pipe closes, even
  // if this process dies.
  const child = spawn(argv[0], [...argv.slice(1), '--port', '0', '--ready-file', ready, '--watch-stdin'],
    {cwd, stdio: ['pipe', 'ignore', 'inherit']})
  let exited = null
  child.on('exit', (code) => { exited = code })
  for (let i = 0; i < 600 && !existsSync(ready); i++) {
    if (exited !== null) throw new Error(`${argv.join(' ')} exited with ${exited}`)
    await sleep(50)
  }
  if (!existsSync(ready)) throw new Error(`${argv.join(' ')} did not start`)
  const info = JSON.parse(readFileSync(ready, 'utf8'))
  const base = `${info.scheme ?? 'http'}://127.0.0.1:${info.port}`
  return {
    info,
    base,
    url: (p) => base + p,
    async stop() {
      child.stdin.end()
      if (exited === null) await new Promise((r) => child.once('exit', r))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

// tests/server/sse_test_server.py (see its docstring for the routes);
// extra: e.g. ['--tls'].
export function startTestServer(extra = []) {
  return startServer(['python3', path.join(root, 'tests/server/sse_test_server.py'), ...extra], root)
}

// tests/interop/better_sse_server.mjs, with better-sse from tests/interop.
export function startBetterSse() {
  return startServer([process.execPath, path.join(root, 'tests/interop/better_sse_server.mjs')],
    path.join(root, 'tests/interop'))
}

// The requests the test server recorded for one path.
export async function requests(server, p) {
  const res = await fetch(server.url(`/_requests?path=${encodeURIComponent(p)}`))
  return res.json()
}

// Resolves with the first event of `type` on target (an EventSource).
export function once(target, type) {
  return new Promise((resolve) => target.addEventListener(type, resolve, {once: true}))
}

// Collects events until done(events) says stop; resolves with them.
export function collect(es, types, done) {
  return new Promise((resolve) => {
    const events = []
    for (const type of types) {
      es.addEventListener(type, (ev) => {
        events.push({type: ev.type, data: ev.data, lastEventId: ev.lastEventId, readyState: es.readyState, ev})
        if (done(events)) resolve(events)
      })
    }
  })
}

// Runs a Node script (ES module source) in a child process with the package
// importable as 'ssekit'; resolves with {code, signal, stdout, stderr}.
export function runNode(source, {args = [], env = {}, timeoutMs = 60000} = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '--input-type=module', '-e', source],
      {cwd: root, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
  })
}

export {sleep}
