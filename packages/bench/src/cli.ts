#!/usr/bin/env node
import { main } from './cli/main';
import { guardProcess } from './cli/lifecycle';

guardProcess();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
