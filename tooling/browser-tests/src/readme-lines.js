// What each README example prints: the same patterns as each package's src/readme.test.ts.
export const README = {
  core: /^loss \d/m,
  lawn: /^constrained frozen (\d+\.\d{4}) (\d+\.\d{4}) now \1 \2$/m,
  prune: /^kernel sparsity after training 0\.750$/m,
  eman: /^teacher updates: 8; sample 0 alone vs in a batch of 8 differs by (0\.0e\+0|\d\.\de-([7-9]|\d\d))$/m,
  unify: /^1152 blocks: 576 pruned, 461 unified; \d+ bytes, 4\.\d\dx smaller$/m,
  afan: /^train accuracy (0\.9\d|1\.00)$/m,
  mimicnorm: /^loss \d+\.\d+ \| max \|filter mean\| \d\.\de-(?:[7-9]|\d\d)$/m,
  // Runs last: it calls useBackend('auto'), which picks wasm on these pages.
  backend: /^backend wasm \(cpu, trainkit kernels\): filter gradient sum 338$/m,
};
