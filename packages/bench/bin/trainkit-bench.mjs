#!/usr/bin/env node
// The `trainkit-bench` command. A committed file (not dist/) so that `pnpm install` on a fresh clone can link it
// before anything is built; it runs the built CLI.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('trainkit-bench: packages/bench is not built yet. Run `pnpm bench` from the repository root, or `pnpm turbo run build --filter=@trainkit/bench...`.');
  process.exit(1);
}
await import(cli.href);
