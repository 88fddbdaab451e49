// Scratch directories for one test file: fresh per test, all gone when the file is done.
import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { workRoot } from './paths.js';

/**
 * New empty directories for one test file's tests (store roots, auth files), each removed
 * after its test, all of them (under `test/.work/NAME-PID`) after the file.
 */
export function scratchDirectories(name: string): (t: { teardown(fn: () => void): void }) => string {
  const scratch = path.join(workRoot, `${name}-${process.pid}`);
  let counter = 0;
  test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
  return (t) => {
    const dir = path.join(scratch, String(counter++));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
}
