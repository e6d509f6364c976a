/**
 * The real Alertmanager for tests and `npm start` (Debian's prometheus-alertmanager 0.25): started on 127.0.0.1 with a free
 * port (the binary needs an explicit one), a temporary storage path and no clustering; killed after.
 *
 * Missing binary: the real-Alertmanager tests are skipped with a loud warning and the install hint, unless the
 * run is CI (`CI` set, as `.ci/run` does), where a missing binary fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ALERTMANAGER_BIN, when set, is the only candidate (`ALERTMANAGER_BIN=/nonexistent` shows the NOT RUN path).
const CANDIDATES = process.env.ALERTMANAGER_BIN
  ? [process.env.ALERTMANAGER_BIN]
  : ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager'];

export const INSTALL_HINT = 'apt-get install prometheus-alertmanager (Debian/Ubuntu), or set ALERTMANAGER_BIN';

/** The binary, or undefined. */
export const alertmanagerBinary: string | undefined = CANDIDATES.find((p): p is string => !!p && existsSync(p));

let warned = false;

/** Whether the real-Alertmanager tests run here: throws in CI without the binary, warns once elsewhere. */
export function realAlertmanagerAvailable(): boolean {
  if (alertmanagerBinary) return true;
  if (process.env.CI) {
    throw new Error(`CI must run the real Alertmanager tests, but no binary was found: ${INSTALL_HINT}`);
  }
  if (!warned) {
    warned = true;
    console.warn(
      `\n*** Real Alertmanager tests NOT RUN: no prometheus-alertmanager binary. Install it: ${INSTALL_HINT} ***\n`,
    );
  }
  return false;
}

/** The admin:test pair of Prometheus's basic-auth guide (its bcrypt hash), for the auth test. */
export const BASIC_USER = 'admin';
export const BASIC_PASSWORD = 'test';
const BASIC_HASH = '$2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay';

export interface RealAlertmanager {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`Alertmanager exited (${child.exitCode}): ${log()}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Alertmanager did not become ready: ${log()}`);
}

/** Starts the real Alertmanager; with `basicAuth`, it requires admin:test. */
export async function startRealAlertmanager(opts: { basicAuth?: boolean } = {}): Promise<RealAlertmanager> {
  if (!alertmanagerBinary) throw new Error(`no Alertmanager binary: ${INSTALL_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), 'am-test-'));
  await writeFile(join(dir, 'am.yml'), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const args = [
    `--config.file=${join(dir, 'am.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    '--cluster.listen-address=',
  ];
  if (opts.basicAuth) {
    await writeFile(join(dir, 'web.yml'), `basic_auth_users:\n  ${BASIC_USER}: '${BASIC_HASH}'\n`);
    args.push(`--web.config.file=${join(dir, 'web.yml')}`);
  }
  // A port found free may be taken before the binary binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(alertmanagerBinary, [...args, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, () => out);
    } catch (e) {
      child.kill('SIGKILL');
      if (attempt < 2 && /address already in use/.test(out)) continue;
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      url,
      port,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          if (child.exitCode === null) child.kill('SIGKILL');
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
