// api.mjs PACKAGE_DIR ROOTFS — run() from the built package, as the unprivileged user that
// runs this script (test/rootless/run.sh). Prints one JSON line: the result and the output.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [packageDir, rootfs] = process.argv.slice(2);
const { run } = await import(pathToFileURL(join(packageDir, 'dist/index.js')).href);

const container = run({
  command: ['sh', '-c', 'echo pid=$$ uid=$(id -u); cat; exit 3'],
  rootfs,
  stdio: 'pipe',
  interactive: true,
});
let stdout = '';
container.stdout?.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
container.stdin?.end('from node\n');
const result = await container;
console.log(JSON.stringify({ ...result, stdout }));
