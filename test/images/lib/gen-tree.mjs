// gen-tree.mjs DIR SEED SPEC... — writes deterministic files into DIR: the same SEED and
// SPECs give the same bytes on every machine (no Math.random, no clock).
//   random:COUNT:SIZE:SUBDIR       COUNT files SUBDIR/NNNNN.bin of SIZE bytes each, incompressible
//                                  (an AES-256-CTR keystream keyed by the seed)
//   small:COUNT:MIN:MAX:SUBDIR     COUNT text files SUBDIR/DD/NNNNN.txt, 100 to a directory, of
//                                  MIN..MAX bytes each: lines of words, compressible about as
//                                  source code is (gzip: ~3x)
// SIZE, MIN and MAX take a K or M suffix (KiB, MiB). Prints the number of files and bytes written.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, seed, ...specs] = process.argv.slice(2);
if (dir === undefined || seed === undefined || specs.length === 0) {
  process.stderr.write('usage: gen-tree.mjs DIR SEED SPEC...\n');
  process.exit(2);
}

function bytes(text) {
  const m = /^(\d+)([KM]?)$/.exec(text);
  if (m === null) throw new Error(`bad size '${text}'`);
  return Number(m[1]) * (m[2] === 'K' ? 1024 : m[2] === 'M' ? 1024 * 1024 : 1);
}

/** An incompressible, reproducible byte stream for `label`. */
function keystream(label) {
  const key = createHash('sha256').update(`${seed}\0${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

/** mulberry32: small, fast, reproducible; for sizes and word choices only. */
function prng(label) {
  let a = createHash('sha256').update(`${seed}\0${label}`).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'const let function return import export from async await if else for while switch case break ' +
  'container image layer registry manifest digest config runtime mount cgroup namespace process ' +
  'signal error result value options string number boolean undefined null true false path file ' +
  'directory buffer stream read write open close create delete start stop kill wait state'
).split(' ');

let files = 0;
let total = 0;
function write(path, data) {
  writeFileSync(path, data);
  files += 1;
  total += data.length;
}

specs.forEach((spec, index) => {
  const [kind, ...args] = spec.split(':');
  const label = `${index}:${spec}`;
  if (kind === 'random' && args.length === 3) {
    const [count, size, sub] = [Number(args[0]), bytes(args[1]), args[2]];
    const next = keystream(label);
    mkdirSync(join(dir, sub), { recursive: true });
    for (let i = 0; i < count; i++) write(join(dir, sub, `${String(i).padStart(5, '0')}.bin`), next(size));
  } else if (kind === 'small' && args.length === 4) {
    const [count, min, max, sub] = [Number(args[0]), bytes(args[1]), bytes(args[2]), args[3]];
    const random = prng(label);
    for (let i = 0; i < count; i++) {
      const d = join(dir, sub, String(Math.floor(i / 100)).padStart(2, '0'));
      if (i % 100 === 0) mkdirSync(d, { recursive: true });
      const size = min + Math.floor(random() * (max - min + 1));
      let text = `// ${sub} file ${i}\n`;
      while (text.length < size) {
        const n = 4 + Math.floor(random() * 8);
        const line = Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
        text += `${'  '.repeat(Math.floor(random() * 4))}${line} ${Math.floor(random() * 100000)};\n`;
      }
      write(join(d, `${String(i).padStart(5, '0')}.txt`), Buffer.from(text.slice(0, size)));
    }
  } else {
    process.stderr.write(`gen-tree.mjs: bad spec '${spec}'\n`);
    process.exit(2);
  }
});
process.stdout.write(`${files} files, ${total} bytes\n`);
