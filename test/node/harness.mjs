// Starts a real arbiter binary (the demo: gateway + built-in provider emulator) for
// the Node tests, and stops it afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// startArbiter runs `arbiter demo` with a small workload and resolves once it serves.
export async function startArbiter({ requests = 20 } = {}) {
  const bin = process.env.ARBITER_BIN;
  if (!bin) throw new Error('ARBITER_BIN must point at a built arbiter binary (scripts/test.sh sets it)');
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'arbiter-node-'));
  const child = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`, '--requests', String(requests), '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`arbiter did not start in 60s:\n${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Dashboard:\s+(\S+)\s+\(admin key: (\S+)\)/);
      if (out.includes('keeps serving') && m) {
        clearTimeout(timer);
        resolve({ dashboard: m[1], adminKey: m[2] });
      }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`arbiter exited with ${code}:\n${out}`)); });
  });
  const info = await ready;
  return {
    base: `http://127.0.0.1:${port}`,
    dashboard: info.dashboard,
    adminKey: info.adminKey,
    output: () => out,
    // stop ends the gateway and removes its data directory (the ledger is written on
    // SIGTERM, so the directory goes only after the process has exited).
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
