// Starts the AgentHub binary for the interop tests and talks to its admin API.
//
// The hub is `dotnet src/AgentHub/bin/Release/net10.0/agenthub.dll` (eng/test.sh builds it before the node suites;
// by hand: `dotnet build src/AgentHub -c Release`), or the dll named by AGENTHUB_INTEROP_DLL.
// Every secret minted here is appended to $AGENTHUB_TEST_LOG_DIR/node-interop.secrets and the hub's stdout/stderr to
// $AGENTHUB_TEST_LOG_DIR/node-interop-hub.log, so eng/test.sh's log canary can check that no secret reaches a log.
import { spawn } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const hubDll = process.env.AGENTHUB_INTEROP_DLL
  ?? path.join(repoRoot, 'src', 'AgentHub', 'bin', 'Release', 'net10.0', 'agenthub.dll');

const logDir = process.env.AGENTHUB_TEST_LOG_DIR || '';

/** Records a secret the tests minted or read (one per line), before it is used anywhere. */
export function recordSecret(secret) {
  if (logDir && secret) appendFileSync(path.join(logDir, 'node-interop.secrets'), `${secret}\n`);
  return secret;
}

const live = new Set();
// Last resort: never leave a hub behind, even when the test process dies on an uncaught error.
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/**
 * Starts `agenthub serve` on 127.0.0.1:0 with a fresh data dir. Resolves to
 * { url, adminKey, dataDir, output(), stop() } once it printed "Now listening on" and wrote its bootstrap key.
 */
export async function startHub({ timeoutMs = 90_000 } = {}) {
  if (!existsSync(hubDll)) {
    throw new Error(`hub binary not found: ${hubDll} (run 'dotnet build src/AgentHub -c Release' in ${repoRoot})`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agenthub-interop-'));
  const child = spawn('dotnet', [hubDll, 'serve', '--data', dataDir, '--urls', 'http://127.0.0.1:0', '--metrics-urls', ''], {
    cwd: dataDir,
    env: {
      ...process.env,
      DOTNET_NOLOGO: '1',
      DOTNET_CLI_TELEMETRY_OPTOUT: '1',
      // the JS agent listens on loopback, which the hub's SSRF guard refuses unless allowed
      AGENTHUB_AGENTS__ALLOWEDHOSTS__0: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  const log = logDir ? createWriteStream(path.join(logDir, 'node-interop-hub.log'), { flags: 'a' }) : null;
  let output = '';
  const onData = (chunk) => {
    const text = chunk.toString('utf8');
    output += text;
    log?.write(text);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal });
  }));

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => (log ? log.end(resolve) : resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  }

  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub did not print "Now listening on" within ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
      const check = () => {
        const m = /Now listening on: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`hub exited (code ${code}, signal ${signal}) before listening:\n${output.slice(-4000)}`));
      });
      check();
    });

    const keyFile = path.join(dataDir, 'bootstrap-admin.key');
    const deadline = Date.now() + 10_000;
    while (!existsSync(keyFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const adminKey = recordSecret(readFileSync(keyFile, 'utf8').trim());
    return { url, adminKey, dataDir, output: () => output, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One admin API call; resolves to { status, body } (body parsed as JSON when it is JSON). */
export async function api(hubUrl, key, method, route, body) {
  const res = await fetch(hubUrl + route, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed };
}

export async function apiOk(hubUrl, key, method, route, body, expected = 201) {
  const r = await api(hubUrl, key, method, route, body);
  if (r.status !== expected) {
    throw new Error(`${method} ${route}: expected HTTP ${expected}, got ${r.status}: ${JSON.stringify(r.body)}`);
  }
  return r.body;
}
