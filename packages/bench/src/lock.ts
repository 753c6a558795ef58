import { closeSync, fsyncSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** What a lock file holds: who runs the job, since when. */
export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  startedAt: string;
}

/** A held lock on one run. */
export interface RunLock {
  file: string;
  token: string;
  /** Refreshes the lock's mtime (the liveness signal for other hosts). @returns false when the lock is no longer ours */
  heartbeat(): boolean;
  /** Removes the lock when it is still ours. */
  release(): void;
}

/** A lock nobody refreshed for this long is taken to be left by a crashed process. @defaultValue 10 minutes */
export const DEFAULT_STALE_LOCK_MS = 10 * 60_000;

const held = new Set<RunLock>();

/** Whether a process with this pid exists on this machine. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // a zombie (exited, not yet reaped) is dead for our purposes
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

function readLock(file: string): { info?: LockInfo; mtimeMs: number } | undefined {
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = statSync(file).mtimeMs;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as LockInfo;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.token === 'string') return { info: v, mtimeMs };
  } catch {
    // being written right now, or garbage: judged by age alone
  }
  return { mtimeMs };
}

/** Why a lock is stale (its holder crashed), or undefined when it may still be held. */
function staleReason(lock: { info?: LockInfo; mtimeMs: number }, staleMs: number): string | undefined {
  const age = Date.now() - lock.mtimeMs;
  if (lock.info && lock.info.host === hostname() && !pidAlive(lock.info.pid)) return `its process ${lock.info.pid} on this host is gone`;
  if (age > staleMs) return `not refreshed for ${Math.round(age / 1000)} s`;
  return undefined;
}

function create(file: string): RunLock | undefined {
  const token = randomBytes(8).toString('hex');
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw e;
  }
  try {
    const info: LockInfo = { pid: process.pid, host: hostname(), token, startedAt: new Date().toISOString() };
    writeSync(fd, JSON.stringify(info));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const ours = (): boolean => readLock(file)?.info?.token === token;
  const lock: RunLock = {
    file,
    token,
    heartbeat() {
      if (!ours()) return false;
      const now = new Date();
      try {
        utimesSync(file, now, now);
      } catch {
        return false;
      }
      return true;
    },
    release() {
      held.delete(lock);
      if (ours()) rmSync(file, { force: true });
    },
  };
  held.add(lock);
  return lock;
}

/**
 * Takes the lock `file` atomically (`open(…, 'wx')`), breaking it first when its holder crashed: a dead pid on this
 * host, or no heartbeat for `staleMs`. Breaking goes through a second lock (`<file>.break`) and re-checks, so two
 * processes that both find a stale lock never both take it.
 *
 * @returns the lock, or who holds it
 */
export function tryLock(file: string, opts: { staleMs?: number } = {}): { lock: RunLock; stale?: string } | { lock?: undefined; heldBy?: LockInfo; stale?: string } {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_LOCK_MS;
  const fresh = create(file);
  if (fresh) return { lock: fresh };
  const seen = readLock(file);
  if (!seen) {
    const again = create(file); // released between our two looks
    return again ? { lock: again } : {};
  }
  const why = staleReason(seen, staleMs);
  if (!why) return { heldBy: seen.info };
  const breaker = `${file}.break`;
  let bfd: number;
  try {
    bfd = openSync(breaker, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // another process is breaking it; a breaker left by a crash is removed after a minute
    try {
      if (Date.now() - statSync(breaker).mtimeMs > 60_000) rmSync(breaker, { force: true });
    } catch {
      // gone already
    }
    return { heldBy: seen.info, stale: why };
  }
  try {
    closeSync(bfd);
    const now = readLock(file);
    if (now && (now.info?.token !== seen.info?.token || now.mtimeMs !== seen.mtimeMs || !staleReason(now, staleMs))) return { heldBy: now.info };
    rmSync(file, { force: true });
    const taken = create(file);
    return taken ? { lock: taken, stale: why } : { heldBy: readLock(file)?.info };
  } finally {
    rmSync(breaker, { force: true });
  }
}

/** Releases every lock this process holds (on exit, on SIGINT/SIGTERM). */
export function releaseAllLocks(): void {
  for (const lock of [...held]) {
    try {
      lock.release();
    } catch {
      // best effort while exiting
    }
  }
}
