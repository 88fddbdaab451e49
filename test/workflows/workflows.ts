// The workflows as check.ts reads them: each file parsed as YAML, jobs expanded through reusable
// workflows (`uses: ./.github/workflows/X.yml`) and matrices, `${{ matrix.* }}` substituted, and
// every `run:` script split into the commands it runs.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { load } from 'js-yaml';
import { type Command, shellCommands, unwrap } from './shell.js';

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asStrings = (v: Json): Record<string, string> =>
  isObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])) : {};
const list = (v: Json): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

export interface Step {
  index: number;
  name: string;
  uses?: string;
  /** The action without its version, and the version (`actions/checkout`, `v7`). */
  action?: string;
  version?: string;
  with: Record<string, string>;
  env: Record<string, string>;
  if?: string;
  run?: string;
  commands: Command[];
}

/** One job of one matrix leg. */
export interface Leg {
  label: string;
  matrix: Record<string, string>;
  env: Record<string, string>;
  steps: Step[];
}

export interface Job {
  /** Unique across an entry workflow and the workflows it calls: `release.yml:packages/packages.yml:install`. */
  key: string;
  /** The file and job id it is written as, for messages: `packages.yml › install`. */
  display: string;
  file: string;
  id: string;
  /** Keys of the jobs it needs, directly or through the job that called its workflow. */
  deps: string[];
  container: boolean;
  permissions: Record<string, string>;
  legs: Leg[];
}

export interface Workflow {
  file: string;
  raw: Record<string, Json>;
}

export function loadWorkflow(dir: string, file: string): Workflow {
  const raw = load(readFileSync(join(dir, file), 'utf8'));
  if (!isObject(raw) || !isObject(raw.jobs)) throw new Error(`${file} is not a workflow (no jobs)`);
  return { file, raw };
}

// `${{ matrix.X }}` replaced by the leg's value; other expressions stay as written.
function substitute(s: string, matrix: Record<string, string>): string {
  return s.replace(/\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}/g, (whole, key: string) => matrix[key] ?? whole);
}

function matrixLegs(strategy: Json): Record<string, string>[] {
  const matrix = isObject(strategy) && isObject(strategy.matrix) ? strategy.matrix : {};
  let legs: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    if (key === 'include' || key === 'exclude' || !Array.isArray(values)) continue;
    legs = legs.flatMap((leg) => values.map((v) => ({ ...leg, [key]: String(v) })));
  }
  const excluded = Array.isArray(matrix.exclude) ? matrix.exclude.map(asStrings) : [];
  legs = legs.filter((leg) => !excluded.some((ex) => Object.entries(ex).every(([k, v]) => leg[k] === v)));
  const included = Array.isArray(matrix.include) ? matrix.include.map(asStrings) : [];
  if (Object.keys(matrix).every((k) => k === 'include' || k === 'exclude')) return included.length > 0 ? included : legs;
  return [...legs, ...included];
}

function parseSteps(raw: Json, matrix: Record<string, string>): Step[] {
  return (Array.isArray(raw) ? raw : []).map((s: Json, index) => {
    const step = isObject(s) ? s : {};
    const sub = (v: Json) => substitute(typeof v === 'string' ? v : v === undefined ? '' : String(v), matrix);
    const withInputs = Object.fromEntries(Object.entries(asStrings(step.with)).map(([k, v]) => [k, sub(v)]));
    const env = Object.fromEntries(Object.entries(asStrings(step.env)).map(([k, v]) => [k, sub(v)]));
    const run = typeof step.run === 'string' ? sub(step.run) : undefined;
    const uses = typeof step.uses === 'string' ? step.uses : undefined;
    const [action, version] = uses?.split('@') ?? [];
    return {
      index,
      name: typeof step.name === 'string' ? sub(step.name) : (uses ?? run?.split('\n')[0] ?? `step ${index + 1}`),
      ...(uses !== undefined ? { uses } : {}),
      ...(action !== undefined ? { action } : {}),
      ...(version !== undefined ? { version } : {}),
      with: withInputs,
      env,
      ...(typeof step.if === 'string' ? { if: step.if } : {}),
      ...(run !== undefined ? { run } : {}),
      commands: run === undefined ? [] : shellCommands(run).map(unwrap),
    };
  });
}

/**
 * Every job an entry workflow runs, its reusable workflows' jobs included, in an order where a
 * job comes after the jobs it needs.
 */
export function expandJobs(dir: string, file: string, prefix = '', outerDeps: string[] = []): Job[] {
  const { raw } = loadWorkflow(dir, file);
  const jobs = raw.jobs as Record<string, Json>;
  const wfEnv = asStrings(raw.env);
  const wfPermissions = asStrings(raw.permissions);
  const keysOf = new Map<string, string[]>();
  const out: Job[] = [];
  const pending = Object.keys(jobs);
  while (pending.length > 0) {
    const id = pending.find((j) => list((jobs[j] as Record<string, Json>).needs).every((n) => keysOf.has(n)));
    if (id === undefined) throw new Error(`${file}: the jobs' needs form a cycle or name a missing job`);
    pending.splice(pending.indexOf(id), 1);
    const job = jobs[id] as Record<string, Json>;
    const deps = [...outerDeps, ...list(job.needs).flatMap((n) => keysOf.get(n) ?? [])];
    if (typeof job.uses === 'string') {
      const called = basename(job.uses.replace(/^\.\/\.github\/workflows\//, ''));
      const inner = expandJobs(dir, called, `${prefix}${file}:${id}/`, deps);
      keysOf.set(id, inner.map((j) => j.key));
      out.push(...inner);
      continue;
    }
    const key = `${prefix}${file}:${id}`;
    keysOf.set(id, [key]);
    const jobEnv = asStrings(job.env);
    const legs = matrixLegs(job.strategy).map((matrix): Leg => {
      const label = substitute(typeof job['runs-on'] === 'string' ? job['runs-on'] : JSON.stringify(job['runs-on']), matrix);
      const env = Object.fromEntries(Object.entries({ ...wfEnv, ...jobEnv }).map(([k, v]) => [k, substitute(v, matrix)]));
      return { label, matrix, env, steps: parseSteps(job.steps, matrix) };
    });
    out.push({
      key,
      display: `${file} › ${id}`,
      file,
      id,
      deps,
      container: job.container !== undefined,
      permissions: { ...wfPermissions, ...asStrings(job.permissions) },
      legs,
    });
  }
  return out;
}

/** KEY's transitive dependencies. */
export function ancestors(jobs: Job[], key: string): Set<string> {
  const byKey = new Map(jobs.map((j) => [j.key, j]));
  const seen = new Set<string>();
  const visit = (k: string) => {
    for (const d of byKey.get(k)?.deps ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(key);
  return seen;
}

/** A path as written in a workflow, relative to the workspace: `$PWD/packs/` → `packs`, `$HOME/.npm` → `~/.npm`. */
export function normalizePath(p: string): string {
  return p
    .trim()
    .replace(/^(\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?|\$\{?PWD\}?)(\/|$)/, '')
    .replace(/^(\$\{?HOME\}?|~)(?=\/|$)/, '~')
    .replace(/^\.\//, '')
    .replace(/\/+$/, '');
}
