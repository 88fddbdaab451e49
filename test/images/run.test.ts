// `tscontainer run IMAGE` and `run({ image })` end to end, as root: images pushed to a local
// registry (test/helpers/registry.ts), pulled by run when missing into a store private to
// this file, run over an overlay of their layers that the runtime mounts inside the
// container (never on the host), with the image's config applied as Docker applies it, and
// nothing left of a container once it is removed.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { apiSuite } from '../helpers/api.js';
import { cliSuite, type CliContainer } from '../helpers/cli.js';
import { installed, isRoot, requires } from '../helpers/host.js';
import { busyboxConfiguredOutput } from '../helpers/images.js';
import { removeTree } from '../helpers/leftovers.js';
import { workRoot } from '../helpers/paths.js';
import { pushImage, startRegistry, type Registry } from '../helpers/registry.js';
import { waitUntil } from '../helpers/user-suite.js';

// Under CI, .ci/run installs the registry and skopeo: a missing one fails these tests instead.
const imageTest = requires(
  [isRoot, 'images are pulled and run as root here (the rootless tier runs them as users)'],
  ...(process.env.CI ? [] : [installed('docker-registry'), installed('skopeo')]),
);
const ready = isRoot && (process.env.CI !== undefined || (installed('docker-registry')[0] && installed('skopeo')[0]));

const cli = cliSuite('images-run');
const api = apiSuite('images-run-api');
const store = path.join(workRoot, `images-run-store-${process.pid}`);
let registry: Registry | undefined;
const refs: Record<'busybox' | 'configured' | 'debian', string> = { busybox: '', configured: '', debian: '' };

test.before(async () => {
  if (!ready) return;
  await mkdir(store, { recursive: true, mode: 0o700 });
  registry = await startRegistry();
  refs.busybox = (await pushImage(registry, 'busybox')).ref;
  refs.configured = (await pushImage(registry, 'busybox:configured')).ref;
  refs.debian = (await pushImage(registry, 'debian:bookworm')).ref;
});

test.after.always(async () => {
  await registry?.stop();
  await removeTree(store);
});

/** `tscontainer run --name ID --tls-verify=false ARGS` with this file's store. */
function runImage(c: CliContainer, ...args: string[]) {
  return c.runWith({ env: { TSCONTAINER_STORAGE: store } }, '--tls-verify=false', ...args);
}

/** The container directories in the store. */
function containerDirs(): string[] {
  const dir = path.join(store, 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Mounts of the host that name the store (an overlay mounted on the host would). */
function hostMountsOfStore(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(store));
}

/** Whether a process has `word` in its command line (a container's supervisor names its id). */
function processNamed(word: string): boolean {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(word);
      } catch {
        return false;
      }
    });
}

/** Whether `check` holds within 30 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if (await check()) return true;
  }
  return false;
}

test.afterEach.always(() => {
  // Nothing of a removed container stays: no mount on the host, no temporary in the store.
  if (!isRoot) return;
  const mounts = hostMountsOfStore();
  if (mounts.length > 0) throw new Error(`mounts of the store on the host: ${mounts.join('; ')}`);
  // A removal renames the directory into tmp/ first, then empties it.
  const tmp = path.join(store, 'tmp');
  const temporaries = existsSync(tmp) ? readdirSync(tmp) : [];
  if (temporaries.length > 0) throw new Error(`temporaries left in the store: ${temporaries.join(', ')}`);
});

imageTest.serial('run --rm IMAGE pulls a missing Debian image, runs its programs, and leaves nothing', async (t) => {
  const c = await cli.container(t);
  const r = await runImage(c, '--rm', refs.debian, 'cat', '/etc/os-release');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^PRETTY_NAME="Debian GNU\/Linux 12 \(bookworm\)"$/m);
  t.true(r.stderr.startsWith(`Unable to find image '${refs.debian}' locally\n`), r.stderr);
  t.regex(r.stderr, /^\S+: Pulling from \S+$/m, "Docker's line before the layers");
  t.regex(r.stderr, /^Status: Downloaded newer image for /m);
  t.deepEqual(containerDirs(), []);
  // Present now: no pull, nothing on stderr; apt and bash are the image's.
  const again = await cli.container(t);
  const second = await runImage(again, '--rm', refs.debian, 'bash', '-c', 'command -v apt; echo $BASH_VERSION');
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /^\/usr\/bin\/apt\n5\./);
  t.is(second.stderr, '');
});

imageTest.serial("an image's Entrypoint, Cmd, User, WorkingDir and Env apply as Docker applies them", async (t) => {
  const c = await cli.container(t);
  const r = await runImage(c, '--rm', '-q', refs.configured);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${busyboxConfiguredOutput}\n`);
  t.is(r.stderr, '', '-q: nothing of the pull');
});

imageTest.serial('a command replaces Cmd and keeps the Entrypoint; --entrypoint replaces it and clears Cmd', async (t) => {
  const cases: [string[], string][] = [
    [['sh', '-c', 'echo "$TS_ENTRYPOINT $0"'], 'ran sh\n'],
    [['--', 'sh', '-c', 'echo after dashes'], 'after dashes\n'],
    [['--entrypoint', '/bin/echo'], '\n'],
    [['--entrypoint', '/bin/echo', 'a', 'b'], 'a b\n'],
    [['--entrypoint', '', 'sh', '-c', 'echo "[$TS_ENTRYPOINT]"'], '[]\n'],
  ];
  for (const [words, expected] of cases) {
    const c = await cli.container(t);
    // Flags come before the image; the words after it are its command.
    const [flags, rest] = words[0] === '--entrypoint' ? [words.slice(0, 2), words.slice(2)] : [[], words];
    const r = await runImage(c, '--rm', '-q', ...flags, refs.configured, ...rest);
    t.is(r.code, 0, `${words.join(' ')}: ${r.stderr}`);
    t.is(r.stdout, expected, words.join(' '));
  }
});

imageTest.serial("-e overrides the image's variable by name; -u and -w override User and WorkingDir", async (t) => {
  const c = await cli.container(t);
  const script = 'echo "$GREETING|$SPACED|${EMPTY-unset}|$PATH|$(id -un):$(id -gn):$(id -G)|$PWD|$HOME"';
  const r = await runImage(c, '--rm', '-q', '-e', 'GREETING=from -e', '-u', 'tester:staff', '-w', '/made/by/run', refs.configured, 'sh', '-c', script);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'from -e|a  b c||/usr/local/bin:/usr/bin:/bin:/sbin|tester:staff:50|/made/by/run|/home/tester\n');
  const root = await cli.container(t);
  const asRoot = await runImage(root, '--rm', '-q', '-u', 'root', refs.configured, 'sh', '-c', 'id -u; pwd');
  t.is(asRoot.stdout, '0\n/srv/app\n', asRoot.stderr);
});

imageTest.serial('no Entrypoint, no Cmd and no command: 125, no command specified', async (t) => {
  const c = await cli.container(t);
  const r = await runImage(c, '--rm', '-q', '--entrypoint', '', refs.busybox);
  t.is(r.code, 125);
  t.deepEqual(r.errorLines, ['tscontainer: no command specified']);
  t.deepEqual(containerDirs(), []);
});

imageTest.serial('a container that cannot be made or started leaves nothing of its storage', async (t) => {
  const bad = await runImage(await cli.container(t), '--rm', '-q', '--memory', '10Q', refs.configured, 'true');
  t.is(bad.code, 125);
  t.regex(bad.errorLines[0] ?? '', /^tscontainer: invalid memory/);
  const user = await runImage(await cli.container(t), '--rm', '-q', '-u', 'nosuchuser', refs.configured, 'true');
  t.is(user.code, 125);
  t.regex(user.errorLines[0] ?? '', /no user `nosuchuser` in the container's \/etc\/passwd/);
  const missing = await runImage(await cli.container(t), '--rm', '-q', refs.configured, 'no-such-command');
  t.is(missing.code, 127, missing.stderr);
  t.deepEqual(containerDirs(), []);
});

imageTest.serial('--pull never with an image that is not stored: 125 and one sentence, nothing made', async (t) => {
  const c = await cli.container(t);
  const r = await runImage(c, '--rm', '--pull', 'never', `${registry?.host}/tests/not-pushed:1`, 'true');
  t.is(r.code, 125);
  t.is(r.errorLines.length, 1, r.stderr);
  t.regex(r.errorLines[0] ?? '', /^tscontainer: image .*tests\/not-pushed:1 is not in the store$/);
  t.deepEqual(containerDirs(), []);
});

imageTest.serial('writes stay in the container: the image is unchanged, a second container is clean, rm removes them', async (t) => {
  const c = await cli.container(t);
  const r = await runImage(c, '-q', '-u', 'root', refs.configured, 'sh', '-c', 'echo kept > /etc/marker; rm /etc/os-release');
  t.is(r.code, 0, r.stderr);
  t.deepEqual(containerDirs(), [c.id], 'kept until rm, as Docker keeps it');
  const upper = path.join(store, 'containers', c.id, 'upper');
  t.is(readFileSync(path.join(upper, 'etc', 'marker'), 'utf8'), 'kept\n');
  const other = await cli.container(t);
  const clean = await runImage(other, '--rm', '-q', refs.configured, 'sh', '-c', 'cat /etc/marker 2>&1; grep ^ID= /etc/os-release');
  t.is(clean.stdout, 'cat: can\'t open \'/etc/marker\': No such file or directory\nID=tscontainer-busybox\n');
  const layers = readdirSync(path.join(store, 'layers'));
  t.false(layers.some((l) => existsSync(path.join(store, 'layers', l, 'diff', 'etc', 'marker'))));
  // inspect shows what the image recorded.
  const [details] = JSON.parse((await c.cli('inspect', c.id)).stdout) as { config: { annotations: Record<string, string> } }[];
  t.like(details?.config.annotations, {
    'io.tscontainer.image': refs.configured,
    'org.opencontainers.image.stopSignal': 'SIGUSR1',
    'org.opencontainers.image.exposedPorts': '5353/udp,8080/tcp',
    'org.tscontainer.test.fixture': 'busybox-configured',
  });
  const rm = await c.cli('rm', c.id);
  t.is(rm.code, 0, rm.stderr);
  t.deepEqual(containerDirs(), []);
});

imageTest.serial('--read-only: the root refuses writes; /etc/hosts, hostname and resolv.conf are as Docker writes them', async (t) => {
  const c = await cli.container(t);
  const r = await runImage(c, '--rm', '-q', '--read-only', '--hostname', 'box', refs.configured, 'sh', '-c', 'touch /x 2>&1; cat /etc/hostname /etc/hosts');
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith('touch: /x: Read-only file system\nbox\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'), r.stdout);
  t.true(r.stdout.endsWith('127.0.1.1\tbox\n'), r.stdout);
  const resolv = await runImage(await cli.container(t), '--rm', '-q', refs.configured, 'cat', '/etc/resolv.conf');
  t.is(resolv.stdout, readFileSync('/etc/resolv.conf', 'utf8'), '--net none: the host\'s file as it is');
});

imageTest.serial("exec -u NAME resolves in the image; stop sends its StopSignal; a detached --rm container's storage goes when it ends", async (t) => {
  const c = await cli.container(t);
  const trap = 'trap "echo got USR1; exit 0" USR1; echo ready; while :; do sleep 0.1; done';
  const d = await runImage(c, '-d', '-q', refs.configured, 'sh', '-c', trap);
  t.is(d.code, 0, d.stderr);
  t.true(await eventually(async () => (await c.cli('logs', c.id)).stdout.includes('ready')));
  // exec -u NAME:GROUP resolves through the image's databases, as the container sees them.
  const exec = await c.cli('exec', '-u', 'tester:staff', c.id, 'sh', '-c', 'id -un; id -gn');
  t.is(exec.stdout, 'tester\nstaff\n', exec.stderr);
  t.is((await c.cli('stop', '-t', '20', c.id)).code, 0);
  t.is((await c.cli('logs', c.id)).stdout, 'ready\ngot USR1\n');
  t.is((await c.cli('rm', c.id)).code, 0);
  t.deepEqual(containerDirs(), []);

  const gone = await cli.container(t);
  t.is((await runImage(gone, '-d', '--rm', '-q', refs.configured, 'sleep', '1')).code, 0);
  // The supervisor removes it, then exits.
  t.true(await waitUntil(() => !containerDirs().includes(gone.id) && !processNamed(gone.id), 30_000));
});

imageTest.serial("the API's run({ image }) waits for the store's lock off the main thread: timers run meanwhile", async (t) => {
  const c = await api.container(t);
  // flock(1) holds the store's lock exclusively for 1.5 s, as rmi and prune do while removing.
  const holder = spawn('flock', ['-x', path.join(store, 'store.lock'), '-c', 'echo locked; sleep 1.5'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  t.teardown(async () => {
    holder.kill('SIGKILL');
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', reject);
  });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 50);
  const started = Date.now();
  try {
    const result = await c.run({ image: refs.configured, command: ['true'], storageRoot: store, pull: 'never' });
    t.deepEqual(result, { exitCode: 0, signal: null, oomKilled: false });
  } finally {
    clearInterval(timer);
  }
  t.true(Date.now() - started >= 1000, 'the container waited for the lock');
  t.true(ticks >= 10, `${ticks} ticks of a 50 ms timer while the lock was held`);
  t.deepEqual(containerDirs(), []);
});

imageTest.serial('the API: run({ image, command }), create({ image }), an abort sends the StopSignal', async (t) => {
  const c = await api.container(t);
  const result = await c.run({ image: refs.configured, command: ['sh', '-c', 'echo $GREETING; id -un'], storageRoot: store, pull: 'never' });
  t.deepEqual(result, { exitCode: 0, signal: null, oomKilled: false });
  t.is(c.stdout(), 'hello from the image\ntester\n');

  const made = await api.container(t);
  const container = await made.create({ image: refs.configured, storageRoot: store, pull: 'never' });
  t.deepEqual(containerDirs(), [made.id]);
  await container.start();
  t.is((await container.wait()).exitCode, 0);
  t.is(await container.logs(), `${busyboxConfiguredOutput}\n`);
  await container.delete();
  t.deepEqual(containerDirs(), []);

  const aborted = await api.container(t);
  const controller = new AbortController();
  const running = aborted.run({
    image: refs.configured,
    command: ['sh', '-c', 'trap "echo stopped by USR1; exit 0" USR1; echo ready; while :; do sleep 0.1; done'],
    storageRoot: store,
    signal: controller.signal,
  });
  t.true(await waitUntil(() => aborted.stdout().includes('ready'), 30_000));
  controller.abort();
  await t.throwsAsync(running, { code: 'ABORT_ERR' });
  t.regex(aborted.stdout(), /stopped by USR1/);
  t.deepEqual(containerDirs(), []);
});
