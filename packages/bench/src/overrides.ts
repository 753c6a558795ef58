/**
 * `--set key=value` (or `--set experiment.key=value`): changes one of an experiment's profile settings for a sweep.
 * The value is parsed by the type of the profile's own value and checked against the experiment's `choices`; the
 * changed settings are part of every run's identity, so a run with other overrides is a different run.
 */
import { TrainkitError } from '@trainkit/core';
import type { ExperimentDefinition, ProfileName, ProfileSettings } from './experiment';

/** One `--set` as given: an optional experiment scope, the setting's key and the value's text. */
export interface SettingOverride {
  experiment?: string;
  key: string;
  text: string;
}

const KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

const bad = (o: SettingOverride, why: string): TrainkitError =>
  new TrainkitError('INVALID_ARGUMENT', `--set ${o.experiment ? `${o.experiment}.` : ''}${o.key}=${o.text}: ${why}`, '--set');

/**
 * Parses the text of one `--set`.
 *
 * @throws TrainkitError naming `--set` when it is not `key=value` or `experiment.key=value`
 */
export function parseOverride(text: string): SettingOverride {
  const eq = text.indexOf('=');
  const lhs = eq > 0 ? text.slice(0, eq) : '';
  const parts = lhs.split('.');
  const key = parts[parts.length - 1] as string;
  const experiment = parts.length === 2 ? parts[0] : undefined;
  if (eq <= 0 || parts.length > 2 || !KEY.test(key) || (experiment !== undefined && !/^[a-z0-9-]+$/.test(experiment))) {
    throw new TrainkitError('INVALID_ARGUMENT', `--set must be key=value or experiment.key=value (e.g. --set eman.recipe=reference); received "${text}"`, '--set');
  }
  return { ...(experiment !== undefined ? { experiment } : {}), key, text: text.slice(eq + 1) };
}

/** What a setting accepts, in words (for errors and `list`). */
function accepted(current: unknown, choices: readonly string[] | undefined): string {
  if (choices) return `one of ${choices.join(', ')}`;
  if (typeof current === 'number') return 'a finite number';
  if (typeof current === 'boolean') return 'true or false';
  if (typeof current === 'string') return 'a non-empty string';
  if (Array.isArray(current) && current.every((v) => typeof v === 'number')) return 'comma-separated finite numbers, e.g. 64,32';
  return 'nothing (this setting cannot be set from the command line)';
}

/** The value of `o` for a setting whose profile value is `current`. @throws TrainkitError naming the key, the value and what is accepted */
function parseValue(o: SettingOverride, current: unknown, choices: readonly string[] | undefined): unknown {
  const t = o.text.trim();
  const num = (s: string): number => (NUMBER.test(s.trim()) ? Number(s.trim()) : NaN);
  let value: unknown;
  if (choices) value = choices.includes(t) ? t : undefined;
  else if (typeof current === 'number') value = Number.isFinite(num(t)) ? num(t) : undefined;
  else if (typeof current === 'boolean') value = t === 'true' ? true : t === 'false' ? false : undefined;
  else if (typeof current === 'string') value = t.length > 0 ? t : undefined;
  else if (Array.isArray(current) && current.every((v) => typeof v === 'number')) {
    const xs = t.split(',').map(num);
    value = t.length > 0 && xs.every(Number.isFinite) ? xs : undefined;
  }
  if (value === undefined) throw bad(o, `${o.key} accepts ${accepted(current, choices)}`);
  return value;
}

/**
 * Checks every override against the experiments of a sweep, before anything runs: a scoped one must name one of
 * them and a setting of its profile; an unscoped one applies to each experiment whose profile has the key and must
 * match at least one. `seeds` is refused (use `--seeds`).
 *
 * @returns per experiment id, the settings to merge over its profile's (only experiments with overrides)
 * @throws TrainkitError naming `--set`, the key, the value and what is accepted
 */
export function resolveOverrides(
  experiments: readonly ExperimentDefinition[],
  profile: ProfileName,
  overrides: readonly SettingOverride[],
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const o of overrides) {
    if (o.key === 'seeds') throw bad(o, 'the number of seeds is set with --seeds N');
    if (o.experiment !== undefined && !experiments.some((e) => e.id === o.experiment)) {
      throw bad(o, `experiment "${o.experiment}" is not in this run (running: ${experiments.map((e) => e.id).join(', ')})`);
    }
    const targets = experiments.filter((e) => (o.experiment === undefined || e.id === o.experiment) && e.profiles[profile]);
    const having = targets.filter((e) => Object.prototype.hasOwnProperty.call(e.profiles[profile], o.key));
    if (having.length === 0) {
      const keys = [...new Set(targets.flatMap((e) => Object.keys(e.profiles[profile] as ProfileSettings)))].filter((k) => k !== 'seeds').sort();
      throw bad(o, `no setting "${o.key}" in the ${profile} profile of ${targets.map((e) => e.id).join(', ') || 'these experiments'}; settings: ${keys.join(', ')}`);
    }
    for (const e of having) {
      const current = (e.profiles[profile] as ProfileSettings)[o.key];
      const value = parseValue(o, current, e.choices?.[o.key]);
      out.set(e.id, { ...out.get(e.id), [o.key]: value });
    }
  }
  return out;
}

/** Each setting of `settings` but `seeds` as `key=value`, with the choices where it has them, for `list --settings`. */
export function describeSettings(e: ExperimentDefinition, settings: ProfileSettings): string[] {
  return Object.entries(settings)
    .filter(([k]) => k !== 'seeds')
    .map(([k, v]) => `${k}=${formatValue(v)}${e.choices?.[k] ? ` (${e.choices[k].join('|')})` : ''}`);
}

/** A setting's value as `--set` takes it (arrays comma-separated). */
export function formatValue(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.join(',');
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}
