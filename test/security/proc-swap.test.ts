// The rootfs's /proc mount point renamed while the container is created: whoever can write
// the rootfs renames the directory the container's procfs is mounted on (the mount moves
// with it) and puts a directory of theirs, shaped like /proc, in its place. Protections
// applied by path (the read-only /proc/sys, /proc/sysrq-trigger, ...; the masked /proc/kcore,
// ...) then land on the decoy, and the container reaches the real, writable /proc/sys under
// the other name: as root without a user namespace, /proc/sys/kernel/core_pattern is code
// execution on the host. The runtime applies them on the procfs mount itself, through its
// handle, wherever it has been moved.
//
// A separate process swaps `proc` and `fakeproc` in a tight loop during each run; the
// container then reads its mount table and checks, by mount ids (names keep changing), that
// every procfs it has carries its read-only submounts. Before the fix, 4 of 6 creates left
// the real /proc/sys writable (this runtime at the commit before the fix; runc 1.1.5 too).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { swapping } from '../helpers/race.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { suite } from '../helpers/suite.js';

const ATTEMPTS = Number(process.env['TSCONTAINER_RACE_ATTEMPTS'] ?? 200);
const READ_ONLY = ['bus', 'fs', 'irq', 'sys', 'sysrq-trigger'];
/** The read-only paths this kernel has (without CONFIG_MAGIC_SYSRQ, no sysrq-trigger). */
const PRESENT = READ_ONLY.filter((name) => existsSync(`/proc/${name}`));
const MASKED_FILES = ['kcore', 'keys', 'latency_stats', 'timer_list', 'timer_stats', 'sched_debug'];
const MASKED_DIRS = ['acpi', 'asound', 'scsi'];

const s = suite('security-proc-swap');

/**
 * Prints PROTECTED when every procfs root mount has a read-only child for each of the
 * read-only paths, else EXPOSED (and the table). Mount ids, not paths: the names flip.
 */
const PROBE = [
  'for i in 1 2 3 4 5 6 7 8 9 10; do',
  '  cat /proc/self/mountinfo > /tmp/mi 2>/dev/null || cat /fakeproc/self/mountinfo > /tmp/mi 2>/dev/null;',
  '  [ -s /tmp/mi ] && break;',
  'done;',
  `awk -v need="${PRESENT.join(' ')}" '`,
  '  { for (i = 1; i <= NF; i++) if ($i == "-") { fs = $(i + 1); break }',
  '    if (fs == "proc" && $4 == "/") procs[$1] = 1;',
  '    if (fs == "proc" && $6 ~ /^ro/) ro[$2 " " $4] = 1 }',
  '  END { n = split(need, names, " "); exposed = 0; count = 0;',
  '    for (p in procs) { count++; for (j = 1; j <= n; j++) if (!((p " /" names[j]) in ro)) exposed = 1 }',
  '    print (count == 0 ? "NOPROC" : exposed ? "EXPOSED" : "PROTECTED") }',
  "' /tmp/mi",
].join('\n');

containerTest(`a /proc mount point renamed during create never leaves the real /proc unprotected (${ATTEMPTS} runs)`, async (t) => {
  t.timeout(20 * 60_000);
  const rootfs = path.join(await s.hostDir(t), 'rootfs');
  execFileSync('cp', ['-a', fixtureRootfs(), rootfs]);
  // The decoy has everything the protections look for.
  const decoy = path.join(rootfs, 'fakeproc');
  for (const dir of [...READ_ONLY.filter((n) => n !== 'sysrq-trigger'), ...MASKED_DIRS, 'sys/kernel', 'self']) {
    mkdirSync(path.join(decoy, dir), { recursive: true });
  }
  for (const file of ['sysrq-trigger', ...MASKED_FILES]) writeFileSync(path.join(decoy, file), '');
  const stop = await swapping(t, path.join(rootfs, 'proc'), decoy);
  let exposed = 0;
  let ran = 0;
  const refused = new Map<string, number>();
  for (let i = 0; i < ATTEMPTS; i++) {
    const c = await s.container(
      t,
      patches(shell(PROBE), (config) => {
        config.root = { path: rootfs, readonly: false };
      }),
    );
    const r = await c.runtime('run', '--bundle', c.bundle, c.id);
    if (r.stdout.includes('EXPOSED')) {
      exposed++;
    } else if (r.code === 0 && r.stdout.includes('PROTECTED')) {
      ran++;
    } else {
      const reason = (r.stdout + r.stderr).trim().split('\n').at(-1)!.replaceAll(rootfs, 'ROOTFS').replaceAll(s.stateRoot, 'STATE');
      refused.set(reason, (refused.get(reason) ?? 0) + 1);
    }
    await c.runtime('delete', '--force', c.id);
  }
  await stop();
  t.log(`${ATTEMPTS} attempts: ${exposed} left a procfs without its read-only paths, ${ran} ran protected`);
  for (const [reason, n] of refused) t.log(`  otherwise ${n}x: ${reason}`);
  t.is(exposed, 0, 'a container got a procfs whose /proc/sys (or another read-only path) was writable');
  t.true(ran > 0, 'some runs ran: the test raced, not just failed');
});
