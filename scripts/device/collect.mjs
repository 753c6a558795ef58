// Gathers one device run into a single JSON file: the speed result, the PyTorch peer's output, every result of the
// experiment, exit codes, and the machine. Usage (run.sh): node collect.mjs WORK_DIR OUT_FILE EXPERIMENT PROFILE
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';

const [work, outFile, experiment, profile] = process.argv.slice(2);
const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined);
const jsonFiles = (dir) =>
  existsSync(dir) ? readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? jsonFiles(join(dir, n)) : n.endsWith('.json') ? [join(dir, n)] : [])) : [];
const rc = (name) => (read(join(work, `${name}.rc`)) === undefined ? null : Number(read(join(work, `${name}.rc`))));
let gpu;
try {
  gpu = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8' }).trim();
} catch {
  gpu = 'no nvidia-smi';
}
const torchLog = read(join(dirname(outFile), 'torch.log'));
const speed = jsonFiles(join(work, 'speed')).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const runs = jsonFiles(join(work, 'results')).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const out = {
  kind: 'trainkit-device-run',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, gpu, vkIcd: process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? null },
  speed: { exitCode: rc('speed'), results: speed },
  torch: read(join(work, 'torch.skip')) ?? { exitCode: rc('torch'), output: torchLog },
  experiment: { id: experiment, profile, exitCode: rc('run'), runs },
};
writeFileSync(outFile, `${JSON.stringify(out, null, 2)}\n`);
const rows = speed.flatMap((s) => s.result?.rows ?? []);
for (const r of rows) console.log(`speed ${r.model} ${r.backend} (${r.adapter ?? r.device ?? ''}): ${r.stepMs != null ? `${r.stepMs.toFixed(0)} ms/step` : r.skipped}`);
// Experiments name their accuracy metrics differently (testAcc, studentAcc, acc_dense, …): print every *acc* metric.
const accs = (m = {}) => Object.entries(m).filter(([k, v]) => /acc/i.test(k) && typeof v === 'number').map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') || 'no accuracy metric';
for (const r of runs) console.log(`run ${r.experimentId}/${r.armId} seed ${r.seed} on ${r.backend?.name} (${r.backend?.adapter ?? ''}): ${accs(r.metrics)}`);
console.log(`wrote ${outFile}`);
process.exitCode = out.speed.exitCode === 0 && out.experiment.exitCode === 0 && runs.length > 0 ? 0 : 1;
