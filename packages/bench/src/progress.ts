/** A progress display: a redrawn bar with ETA and live metrics on a TTY, plain periodic lines otherwise (CI logs). */
export interface Progress {
  start(total: number, label?: string): void;
  tick(n?: number, metrics?: Record<string, number>): void;
  /** Prints a line above the bar. */
  log(message: string): void;
  /** Ends the current bar (prints its final state once). */
  done(): void;
}

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function fmtMetric(k: string, v: number): string {
  if (k === 'epoch' || Number.isInteger(v)) return `${k} ${v}`;
  return `${k} ${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)}`;
}

/**
 * Creates a progress display.
 *
 * @param args.prefix - shown before every line, e.g. `[3/12] baseline adam s1`
 * @param args.stream - @defaultValue process.stderr
 * @param args.tty - @defaultValue `stream.isTTY`
 * @param args.every - non-TTY: seconds between lines. @defaultValue 10
 */
export function createProgress(args: { prefix?: () => string; stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }; tty?: boolean; every?: number } = {}): Progress {
  const stream = args.stream ?? process.stderr;
  const tty = args.tty ?? !!stream.isTTY;
  const every = (args.every ?? 10) * 1000;
  let total = 0;
  let done = 0;
  let label = '';
  let started = 0;
  let lastLine = 0;
  let metrics: Record<string, number> = {};
  let drawn = false;
  const prefix = (): string => (args.prefix ? `${args.prefix()} ` : '');
  const line = (): string => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const m = Object.entries(metrics).map(([k, v]) => fmtMetric(k, v)).join(' ');
    const width = 24;
    const bar = tty ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '-')}] ` : '';
    return `${prefix()}${label ? `${label} ` : ''}${bar}${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${formatDuration(elapsed)} ETA ${formatDuration(eta)}${m ? ` | ${m}` : ''}`;
  };
  const draw = (force = false): void => {
    const now = Date.now();
    if (tty) {
      if (!force && now - lastLine < 100) return;
      const cols = stream.columns ?? 120;
      stream.write(`\r\x1b[2K${line().slice(0, cols - 1)}`);
      drawn = true;
    } else {
      if (!force && now - lastLine < every) return;
      stream.write(`${line()}\n`);
    }
    lastLine = now;
  };
  const clear = (): void => {
    if (tty && drawn) {
      stream.write('\r\x1b[2K');
      drawn = false;
    }
  };
  return {
    start(t, l) {
      total = t;
      done = 0;
      label = l ?? '';
      started = Date.now();
      lastLine = tty ? 0 : Date.now();
      metrics = {};
      draw(tty);
    },
    tick(n = 1, m) {
      done += n;
      if (m) metrics = { ...metrics, ...m };
      draw(false);
    },
    log(message) {
      clear();
      stream.write(`${prefix()}${message}\n`);
      if (tty && total > 0 && done < total) draw(true);
    },
    done() {
      if (total === 0) return;
      if (tty) {
        draw(true);
        stream.write('\n');
        drawn = false;
      } else {
        stream.write(`${line()}\n`);
      }
      total = 0;
    },
  };
}
