/**
 * Timing external commands through `bench/tools/measure` (a small C program: no
 * JavaScript runs inside the measured interval, and it reads each command's peak RSS
 * from wait4), interleaved: every round runs each case once, in a fresh order.
 */
import { spawnSync } from 'node:child_process';

import { shuffled } from './stats.js';

export interface StepResult {
  ms: number;
  /** Peak RSS of the step's process (and the descendants it reaped), KiB. */
  maxRssKb: number;
  /** User + system CPU time of the step's process and the descendants it reaped, ms. */
  cpuMs: number;
}

export interface Measurement {
  totalMs: number;
  steps: StepResult[];
}

export class Measurer {
  constructor(private readonly helper: string) {}

  /**
   * Runs `steps` in order (a step is a command line, or `['@wait=PIDFILE']`) and returns
   * their timings; throws with the command's stderr when one fails.
   */
  run(steps: readonly (readonly string[])[], env: NodeJS.ProcessEnv = process.env): Measurement {
    const argv: string[] = ['--stdout-null'];
    steps.forEach((step, i) => {
      if (i > 0) argv.push('@then');
      argv.push(...step);
    });
    const out = spawnSync(this.helper, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env });
    if (out.status !== 0) {
      const which = steps.map((s) => s.join(' ')).join(' ; ');
      throw new Error(`failed (status ${out.status ?? out.signal}): ${which}\n${out.stderr.trim()}`);
    }
    const [total, ...rest] = out.stdout.trim().split(' ');
    return {
      totalMs: Number(total) / 1e6,
      steps: rest.map((r) => {
        const [ns, rss, cpu] = r.split(':');
        return { ms: Number(ns) / 1e6, maxRssKb: Number(rss), cpuMs: Number(cpu) / 1e3 };
      }),
    };
  }
}

/** One thing measured in a section; `run` returns its measurement. */
export interface Case<T> {
  name: string;
  run(round: number): T;
}

/**
 * Runs `warmup` unrecorded rounds, then `rounds` recorded ones; each round runs every
 * case once in a new random order, so drift in the machine's load spreads evenly.
 */
export function interleaved<T>(cases: readonly Case<T>[], warmup: number, rounds: number): Map<string, T[]> {
  const results = new Map<string, T[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const c of shuffled(cases)) {
      const value = c.run(round);
      if (round >= warmup) results.get(c.name)!.push(value);
    }
  }
  return results;
}
