import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainkitError } from '@trainkit/core';
import { fixMatchEmanReference } from '@trainkit/eman';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from './cli/main';
import { defineExperiment, type ExperimentDefinition } from './experiment';
import { parseOverride, resolveOverrides } from './overrides';
import { makeRunId, readRun, runConfig } from './results';
import { planJobs } from './runner';

const fake = (id: string, settings: Record<string, unknown>): ExperimentDefinition =>
  defineExperiment({
    id,
    title: id,
    paper: { title: '', authors: '', year: 2021, url: '' },
    claims: [],
    choices: { recipe: ['bench', 'reference'] },
    profiles: { smoke: { seeds: 1, ...settings } },
    arms: () => [{ id: 'a', label: 'a' }],
    run: async () => ({ metrics: {} }),
    judge: () => [],
  });

const A = fake('exp-a', { lr: 0.1, hidden: [16, 8], recipe: 'bench', flag: false, name: 'x', nested: { k: 1 } });
const B = fake('exp-b', { lr: 0.5, steps: 4 });

function errorOf(f: () => unknown): TrainkitError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TrainkitError);
    return e as TrainkitError;
  }
  throw new Error('did not throw');
}

describe('--set overrides', () => {
  it('parses key=value and experiment.key=value; anything else is an error naming --set and the text', () => {
    expect(parseOverride('lr=0.01')).toEqual({ key: 'lr', text: '0.01' });
    expect(parseOverride('eman.recipe=reference')).toEqual({ experiment: 'eman', key: 'recipe', text: 'reference' });
    expect(parseOverride('hidden=64,32')).toEqual({ key: 'hidden', text: '64,32' });
    for (const bad of ['lr', '=1', 'a.b.c=1', 'Eman.lr=1', '1lr=2', 'l r=1', '.lr=1']) {
      const e = errorOf(() => parseOverride(bad));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.argument).toBe('--set');
      expect(e.message).toContain(`received "${bad}"`);
    }
  });

  it('parses each value by the type of the profile value and applies unscoped keys to every experiment that has them', () => {
    const set = ['lr=1e-3', 'exp-a.hidden=64,32', 'exp-a.recipe=reference', 'exp-a.flag=true', 'exp-a.name=y'].map(parseOverride);
    const r = resolveOverrides([A, B], 'smoke', set);
    expect(r.get('exp-a')).toEqual({ lr: 0.001, hidden: [64, 32], recipe: 'reference', flag: true, name: 'y' });
    expect(r.get('exp-b')).toEqual({ lr: 0.001 });
    expect(resolveOverrides([A, B], 'smoke', [parseOverride('steps=8')])).toEqual(new Map([['exp-b', { steps: 8 }]]));
  });

  it('rejects unknown keys, bad values, seeds and experiments not in the run, naming key, value and what is accepted', () => {
    const cases: Array<[string, RegExp]> = [
      ['nope=1', /^--set nope=1: no setting "nope" in the smoke profile of exp-a, exp-b; settings: flag, hidden, lr, name, nested, recipe, steps$/],
      ['exp-a.steps=1', /no setting "steps" in the smoke profile of exp-a; settings: flag/],
      ['lr=fast', /^--set lr=fast: lr accepts a finite number$/],
      ['lr=Infinity', /lr accepts a finite number/],
      ['lr=', /lr accepts a finite number/],
      ['exp-a.hidden=64,', /hidden accepts comma-separated finite numbers/],
      ['exp-a.recipe=best', /^--set exp-a.recipe=best: recipe accepts one of bench, reference$/],
      ['exp-a.flag=yes', /flag accepts true or false/],
      ['exp-a.name=', /name accepts a non-empty string/],
      ['exp-a.nested=1', /nested accepts nothing \(this setting cannot be set from the command line\)/],
      ['seeds=3', /^--set seeds=3: the number of seeds is set with --seeds N$/],
      ['exp-c.lr=1', /experiment "exp-c" is not in this run \(running: exp-a, exp-b\)/],
    ];
    for (const [text, why] of cases) {
      const e = errorOf(() => resolveOverrides([A, B], 'smoke', [parseOverride(text)]));
      expect(e.argument, text).toBe('--set');
      expect(e.message, text).toMatch(why);
    }
  });

  it('is part of the run identity: another value is another run id, the same value the same one', () => {
    const backend = { name: 'wasm', trainingKernels: 'trainkit' };
    const idOf = (set: string[]): string => {
      const job = planJobs([A], { profile: 'smoke', overrides: resolveOverrides([A], 'smoke', set.map(parseOverride)) }).jobs[0]!;
      return makeRunId(runConfig({ experimentId: A.id, arm: job.arm, seed: job.seed, profile: job.profile, backend, settings: job.settings }));
    };
    const plain = idOf([]);
    expect(idOf(['lr=0.1'])).toBe(plain); // the profile's own value: the same run
    expect(idOf(['lr=0.2'])).not.toBe(plain);
    expect(idOf(['recipe=reference'])).not.toBe(plain);
    expect(idOf(['recipe=reference'])).toBe(idOf(['exp-a.recipe=reference']));
    const job = planJobs([A], { profile: 'smoke', overrides: resolveOverrides([A], 'smoke', [parseOverride('lr=0.2')]) }).jobs[0]!;
    expect(job.settings).toMatchObject({ lr: 0.2, seeds: 1, recipe: 'bench' });
    expect(A.profiles.smoke).toMatchObject({ lr: 0.1 }); // the profile itself is untouched
  });
});

function capture(): { io: CliIo; text: () => string } {
  const lines: string[] = [];
  return { io: { out: (l) => lines.push(l), err: { write: (s: string) => (lines.push(s), true) } as unknown as CliIo['err'] }, text: () => lines.join('\n') };
}

describe('trainkit-bench run --set', () => {
  it('a changed override re-runs (a second result file), the same one is skipped; a bad one fails before anything trains', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-set-'));
    const exp: ExperimentDefinition = { ...B, run: async (ctx) => ({ metrics: { lr: ctx.settings['lr'] as number } }) };
    const run = async (...extra: string[]): Promise<string> => {
      const c = capture();
      expect(await main(['run', 'exp-b', '--profile', 'smoke', '--backend', 'wasm', '--out', out, ...extra], { io: c.io, experiments: [exp] }), c.text()).toBe(0);
      return c.text();
    };
    expect(await run()).toMatch(/1 run\(s\) done, 0 skipped/);
    const changed = await run('--set', 'exp-b.lr=0.001');
    expect(changed).toMatch(/exp-b: smoke settings overridden: lr=0.001/);
    expect(changed).toMatch(/settings changed since .*settings\.lr 0\.5 → 0\.001/);
    expect(changed).toMatch(/1 run\(s\) done, 0 skipped/);
    expect(await run('--set=lr=0.001')).toMatch(/0 run\(s\) done, 1 skipped/);
    const files = readdirSync(join(out, 'exp-b')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(2);
    expect(files.map((f) => readRun(join(out, 'exp-b', f))!).map((r) => [r.settings['lr'], r.metrics['lr']]).sort()).toEqual([[0.001, 0.001], [0.5, 0.5]]);

    const c = capture();
    expect(await main(['run', 'exp-b', '--profile', 'smoke', '--out', out, '--set', 'lr=quick'], { io: c.io, experiments: [exp] })).toBe(2);
    expect(c.text()).toMatch(/^error: --set lr=quick: lr accepts a finite number$/m);
    expect(c.text()).not.toMatch(/backend /);
  });

  it('--arms runs only the named arms; an unknown arm is an error naming the known ones', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-arms-'));
    const two: ExperimentDefinition = { ...B, arms: () => [{ id: 'one', label: 'one' }, { id: 'two', label: 'two' }], run: async (ctx) => ({ metrics: { lr: ctx.settings['lr'] as number } }) };
    const c = capture();
    expect(await main(['run', 'exp-b', '--profile', 'smoke', '--backend', 'wasm', '--out', out, '--arms', 'two', '--set', 'lr=0.25'], { io: c.io, experiments: [two] }), c.text()).toBe(0);
    const files = readdirSync(join(out, 'exp-b')).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => readRun(join(out, 'exp-b', f))).map((r) => [r!.armId, r!.metrics['lr']])).toEqual([['two', 0.25]]);
    for (const [arms, why] of [['three', /^error: --arms: unknown arm "three"; arms of this run: one, two$/m], [',', /--arms: no arm ids given/]] as const) {
      const d = capture();
      expect(await main(['run', 'exp-b', '--profile', 'smoke', '--out', out, '--arms', arms], { io: d.io, experiments: [two] })).toBe(2);
      expect(d.text()).toMatch(why);
    }
  });

  it('--set eman.recipe=reference trains with the reference FixMatch-EMAN values', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-set-eman-'));
    const c = capture();
    expect(await main(['run', 'eman', '--profile', 'smoke', '--backend', 'wasm', '--out', out, '--set', 'eman.recipe=reference'], { io: c.io }), c.text()).toBe(0);
    const files = readdirSync(join(out, 'eman')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(6);
    const r = fixMatchEmanReference;
    for (const f of files) {
      const run = readRun(join(out, 'eman', f))!;
      expect(run.settings['recipe']).toBe('reference');
      expect(run.extra?.['recipe']).toEqual({ recipe: 'reference', threshold: r.threshold, unlabeledWeight: r.unlabeledWeight, mu: r.mu, momentum: r.momentum, weightDecay: r.weightDecay });
    }
  }, 120_000);
});
