// Finds the tscontainer-runtime binary the tests drive, in the order the package uses:
// an explicit TSCONTAINER_RUNTIME_PATH, the copy the TypeScript build places in native/,
// then cargo's release build. Run directly, it prints the path (test/run-all.sh uses that).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './paths.js';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function runtimePath(): string {
  const explicit = process.env.TSCONTAINER_RUNTIME_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new Error(`TSCONTAINER_RUNTIME_PATH=${explicit} is not an executable file`);
    }
    return explicit;
  }
  const candidates = [
    path.join(repoRoot, 'native', 'tscontainer-runtime'),
    path.join(repoRoot, 'target', 'release', 'tscontainer-runtime'),
  ];
  const found = candidates.find(isExecutable);
  if (!found) {
    throw new Error(
      `no tscontainer-runtime binary: looked at ${candidates.join(', ')}; ` +
        'build it with `cargo build --release -p tscontainer-runtime` or set TSCONTAINER_RUNTIME_PATH',
    );
  }
  return found;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(runtimePath());
}
