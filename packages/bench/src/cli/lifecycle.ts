import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { releaseAllLocks } from '../lock';

/** The watchdog, run in a worker thread: training keeps the main thread busy for long stretches without yielding. */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);
function proc(pid) {
  try {
    const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return { ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}
const self = proc(workerData.pid);
const chain = [];
let pid = self ? self.ppid : 0;
for (let i = 0; i < 8 && pid > 1; i++) {
  const p = proc(pid);
  if (!p) break;
  chain.push({ pid, ppid: p.ppid });
  if (!SHELLS.has(p.comm)) break;
  pid = p.ppid;
}
if (self) {
  setInterval(() => {
    let dead = 0;
    const now = proc(workerData.pid);
    if (!now || now.ppid !== self.ppid) dead = self.ppid;
    for (const a of chain) {
      const p = proc(a.pid);
      if (!p) dead = dead || a.pid;
      else if (p.ppid !== a.ppid) dead = dead || a.ppid;
    }
    if (!dead) return;
    try {
      fs.writeSync(2, 'trainkit-bench: the process that started it (pid ' + dead + ') has exited; stopping (finished runs are kept; the lock of the run in progress is freed by the next sweep)\\n');
    } catch {}
    process.kill(workerData.pid, 'SIGKILL');
  }, workerData.pollMs);
}
`;

/**
 * Makes the CLI process leave no orphan and no lock behind.
 *
 * - SIGINT and SIGTERM keep their default action (the process ends at once, even mid-step); the lock of the run in
 *   progress names a dead pid, so the next sweep on that `--out` takes it over.
 * - On a normal exit the locks this process holds are released.
 * - When started by a package-manager script (`pnpm bench` sets `npm_lifecycle_event`) or with
 *   `TRAINKIT_EXIT_WITH_PARENT=1` (`=0` turns it off), a watchdog thread ends the process when the process that
 *   started it dies, even by `kill -9`, which no launcher can forward. It watches the parent and, through any shells in
 *   between (`pnpm` runs scripts with `sh -c`), the first non-shell ancestor; Linux only (it reads /proc).
 *   Run directly (`nohup node bin/trainkit-bench.mjs …`), the bench outlives its shell as usual.
 *
 * @param pollMs - how often the watchdog looks. @defaultValue 1000
 */
export function guardProcess(pollMs = 1000, env: NodeJS.ProcessEnv = process.env): void {
  process.on('exit', releaseAllLocks);
  const flag = env['TRAINKIT_EXIT_WITH_PARENT'];
  const watch = flag ? flag === '1' : !!env['npm_lifecycle_event'];
  if (!watch) return;
  try {
    readFileSync('/proc/self/stat');
  } catch {
    return; // no /proc
  }
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { pid: process.pid, pollMs } });
  worker.unref();
}
