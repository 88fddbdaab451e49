// Where the tests find the repository and keep their scratch files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Scratch space for fixtures, bundles and state roots; gitignored. */
export const workRoot = path.join(repoRoot, 'test', '.work');
