// The containers' root filesystem: a static busybox tree built once per machine by
// test/fixtures/build-rootfs.sh (atomic, so concurrent test files may all ask for it).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, workRoot } from './paths.js';

const builder = path.join(repoRoot, 'test', 'fixtures', 'build-rootfs.sh');
const rootfs = path.join(workRoot, 'rootfs');
let built = false;

export function fixtureRootfs(): string {
  if (!built) {
    execFileSync(builder, [rootfs], { stdio: ['ignore', 'inherit', 'inherit'] });
    built = true;
  }
  return rootfs;
}
