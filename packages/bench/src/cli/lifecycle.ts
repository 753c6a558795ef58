import { readFileSync } from 'node:fs';
import { releaseAllLocks } from '../lock';

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

/** `[ppid, comm]` of a process from /proc, or undefined when it is gone (or there is no /proc). */
function procInfo(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // exited
    return { ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

function exitNow(code: number, why: string): void {
  try {
    process.stderr.write(`trainkit-bench: ${why}; stopping (finished runs are kept, the run in progress is not)\n`);
  } catch {
    // stderr may be gone with the parent
  }
  releaseAllLocks();
  process.exit(code);
}

/**
 * Makes the CLI process leave no orphan: SIGINT, SIGTERM and SIGHUP release its run locks and exit at once; and, when
 * started by a package-manager script (`pnpm bench`: `npm_lifecycle_event` is set) or with `TRAINKIT_EXIT_WITH_PARENT=1`,
 * a poll exits when the process that started it dies (even by `kill -9`, which no launcher can forward). The watched
 * chain is the parent and, through any shells in between (`pnpm` runs scripts with `sh -c`), the first non-shell
 * ancestor. Run directly (`nohup node bin/trainkit-bench.mjs …`), the bench outlives its shell as usual.
 *
 * @param pollMs - @defaultValue 1000
 */
export function guardProcess(pollMs = 1000, env: NodeJS.ProcessEnv = process.env): void {
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) process.on(sig, () => exitNow(128 + n, `got ${sig}`));
  process.on('exit', releaseAllLocks);
  const watch = env['TRAINKIT_EXIT_WITH_PARENT'] !== undefined ? env['TRAINKIT_EXIT_WITH_PARENT'] === '1' : env['npm_lifecycle_event'] !== undefined;
  if (!watch) return;
  const chain: Array<{ pid: number; ppid: number }> = [];
  let pid = process.ppid;
  for (let i = 0; i < 8 && pid > 1; i++) {
    const info = procInfo(pid);
    if (!info) break;
    chain.push({ pid, ppid: info.ppid });
    if (!SHELLS.has(info.comm)) break;
    pid = info.ppid;
  }
  const startPpid = process.ppid;
  const timer = setInterval(() => {
    const self = procInfo(process.pid);
    if (self && self.ppid !== startPpid) {
      exitNow(129, 'the process that started it has exited');
      return;
    }
    for (const a of chain) {
      if (procInfo(a.pid)?.ppid !== a.ppid) {
        exitNow(129, `the process that started it (pid ${a.pid}) has exited`);
        return;
      }
    }
  }, pollMs);
  timer.unref();
}
