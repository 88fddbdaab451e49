// images.mjs REPO OP [ARG...] — the addon's image bindings, as the unprivileged user that runs
// this script (test/rootless/run.sh). Prints one JSON line: the value, or {"error": {code,
// message}}; exits 1 on an error.
//   host | pull REF ROOT | images ROOT | remove REF ROOT
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [repo, op, ...args] = process.argv.slice(2);
const native = createRequire(import.meta.url)(join(repo, 'native', 'index.cjs'));
const ops = {
  host: async () => native.imageHost(),
  pull: async (ref, storageRoot) => native.pull(ref, { tlsVerify: false, storageRoot }),
  images: async (storageRoot) => native.images({ storageRoot }),
  remove: async (ref, storageRoot) => native.removeImage(ref, { storageRoot }),
};
try {
  console.log(JSON.stringify(await ops[op](...args)));
} catch (e) {
  console.log(JSON.stringify({ error: { code: e.code, message: e.message } }));
  process.exitCode = 1;
}
