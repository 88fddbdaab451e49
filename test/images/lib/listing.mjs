// listing.mjs DIR — one line per entry below DIR, sorted by path, tab-separated:
//   PATH TYPE MODE UID:GID MTIME DETAIL XATTRS
// TYPE is f d l p c b s; MODE the permission bits with setuid/setgid/sticky, in octal; MTIME
// whole seconds; DETAIL for a file `size=N links=N sha256=HEX`, for a symlink `-> TARGET`, for
// a device `dev=MAJOR,MINOR`, otherwise `-`; XATTRS `name=0xHEX` joined by `,` (sorted), or `-`.
// Directory sizes and link counts depend on the filesystem and are left out. Two trees with the
// same listing hold the same files; recipes write it as an image's expected content, and the
// smoke tier compares it with what podman unpacked. Extended attributes come from getfattr
// (package attr), which Node cannot read itself.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: listing.mjs DIR\n');
  process.exit(2);
}

function walk(base, rel, out) {
  for (const name of readdirSync(join(base, rel))) {
    const path = rel === '' ? name : `${rel}/${name}`;
    out.push(path);
    if (lstatSync(join(base, path)).isDirectory()) walk(base, path, out);
  }
  return out;
}

/** getfattr's dump of every xattr below `base`, as path → sorted `name=0xhex` entries. */
function xattrs(base) {
  const dump = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', base], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const byPath = new Map();
  let current;
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = line.slice('# file: '.length).slice(base.length).replace(/^\//, '');
      byPath.set(current, []);
    } else if (line !== '' && current !== undefined) {
      byPath.get(current).push(line);
    }
  }
  for (const list of byPath.values()) list.sort();
  return byPath;
}

function typeOf(st) {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isFIFO()) return 'p';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  return 's';
}

function detail(path, st, type) {
  switch (type) {
    case 'f':
      return `size=${st.size} links=${st.nlink} sha256=${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    case 'l':
      return `-> ${readlinkSync(path)}`;
    case 'c':
    case 'b':
      // Linux's dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20+.
      return `dev=${((st.rdev >> 8) & 0xfff) | Math.floor(st.rdev / 2 ** 32) & ~0xfff},${(st.rdev & 0xff) | ((st.rdev >> 12) & ~0xff)}`;
    default:
      return '-';
  }
}

const base = dir.replace(/\/+$/, '');
const attrs = xattrs(base);
const lines = walk(base, '', [])
  .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  .map((path) => {
    const full = join(base, path);
    const st = lstatSync(full);
    const type = typeOf(st);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    const x = attrs.get(path)?.join(',') || '-';
    return [path, type, mode, `${st.uid}:${st.gid}`, Math.floor(st.mtimeMs / 1000), detail(full, st, type), x].join('\t');
  });
process.stdout.write(lines.map((l) => `${l}\n`).join(''));
