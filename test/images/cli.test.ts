// The image commands of the CLI (`bin/run.cjs`, the built package) against real
// registries on 127.0.0.1 (test/helpers/registry.ts): pull (plain HTTP with
// --tls-verify=false; TLS + htpasswd with --cert-dir and login), images and image inspect
// compared with what skopeo reports, login's and image prune's questions on a terminal,
// tag/rmi/prune/system df, load of skopeo's and podman's
// archives, save then podman load, and bad input: one line `tscontainer: ...`, exit 125,
// nothing left in the store's tmp/. Each test has its own --storage-root under test/.work.
import test from 'ava';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI } from '../helpers/cli.js';
import { installed, isRoot, requires } from '../helpers/host.js';
import { imageArchive, imageConfig } from '../helpers/images.js';
import { repoRoot } from '../helpers/paths.js';
import { scratchDirectories } from '../helpers/scratch.js';
import { privatePodman, pushImage, skopeo, startRegistry, type Registry } from '../helpers/registry.js';

const run = promisify(execFile);

const imageTest = requires(
  [isRoot, 'the test images are built as root'],
  [existsSync(path.join(repoRoot, 'dist', 'commands', 'pull.js')), 'the CLI is not built (npm run build:ts)'],
  ...(process.env.CI ? [] : [installed('docker-registry'), installed('skopeo'), installed('htpasswd'), installed('podman')]),
);

let plain: Registry;
let secure: Registry;
const pushed = new Map<string, { ref: string; digest: string }>();

test.before(async () => {
  if (!isRoot) return;
  plain = await startRegistry();
  secure = await startRegistry({ tls: true, auth: true });
  pushed.set('busybox', await pushImage(plain, 'busybox'));
  pushed.set('configured', await pushImage(plain, 'busybox:configured'));
  pushed.set('layers', await pushImage(plain, 'layers'));
  pushed.set('secure', await pushImage(secure, 'busybox:configured'));
});
test.after.always(async () => {
  await plain?.stop();
  await secure?.stop();
});

/** A new empty directory for one test (a store root, an auth file), removed after it. */
const tempDir = scratchDirectories('cli-images');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tscontainer ARGS` to completion, stdin from `input` (or /dev/null). */
function cli(args: readonly string[], input?: string | Buffer, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    // A CLI that fails before it reads its input closes the pipe: not the test's error.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** A failure as the CLI must report it: exit 125 (or `code`), one line `tscontainer: ...`, nothing on stdout. */
function failedWith(t: { is(a: unknown, b: unknown, m?: string): void; regex(s: string, r: RegExp, m?: string): void }, r: Result, pattern: RegExp, code = 125): void {
  t.is(r.code, code, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, r.stderr);
  t.regex(lines[0] ?? '', /^tscontainer: \S/);
  t.regex(lines[0] ?? '', pattern);
}

function tmpOf(store: string): string[] {
  const dir = path.join(store, 'tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
}

imageTest('pull over plain HTTP: a line per layer event, Docker\'s last lines; -q prints the id; images lists it', async (t) => {
  const store = tempDir(t);
  const { ref, digest } = pushed.get('layers')!;
  const r = await cli(['pull', '--tls-verify=false', '--storage-root', store, ref]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // Docker's first line: the tag, and the repository without its registry.
  const [, repository, tag] = /^[^/]+\/(.+):([^:/]+)$/.exec(ref) ?? [];
  t.is(lines[0], `${tag}: Pulling from ${repository}`);
  t.deepEqual(lines.slice(-3), [`Digest: ${digest}`, `Status: Downloaded newer image for ${ref}`, ref]);
  const events = lines.slice(1, -3);
  // Four layers, each: Pulling fs layer, Download complete, Pull complete (not a TTY: no redraw).
  t.is(events.length, 12, r.stdout);
  for (const line of events) t.regex(line, /^[0-9a-f]{12}: (Pulling fs layer|Download complete|Pull complete)$/);
  t.false(r.stdout.includes('\u001B['), 'no terminal control codes off a terminal');

  const again = await cli(['pull', '--tls-verify=false', '--storage-root', store, ref]);
  t.is(again.code, 0, again.stderr);
  t.true(again.stdout.includes(`Status: Image is up to date for ${ref}`));
  t.is(again.stdout.split('\n').filter((l) => l.endsWith(': Already exists')).length, 4);

  // Without a tag: Docker's default tag, named in the Status line, the last line in full.
  const untagged = ref.replace(/:latest$/, '');
  const short = await cli(['pull', '--tls-verify=false', '--storage-root', store, untagged]);
  const shortLines = short.stdout.trim().split('\n');
  t.deepEqual(shortLines.slice(0, 2), ['Using default tag: latest', `latest: Pulling from ${repository}`]);
  t.deepEqual(shortLines.slice(-2), [`Status: Image is up to date for ${untagged}:latest`, ref]);

  const quiet = await cli(['pull', '-q', '--tls-verify=false', '--storage-root', store, ref]);
  t.is(quiet.code, 0);
  const id = quiet.stdout.trim();
  t.regex(id, /^[0-9a-f]{64}$/);

  const listed = await cli(['images', '--storage-root', store]);
  t.is(listed.code, 0, listed.stderr);
  const [header, row, ...rest] = listed.stdout.trim().split('\n');
  t.regex(header ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  t.deepEqual(rest, []);
  const cells = (row ?? '').split(/\s{3,}/);
  t.deepEqual([cells[0], cells[1], cells[2]], [ref.replace(/:latest$/, ''), 'latest', id.slice(0, 12)]);
  t.regex(cells[3] ?? '', / ago$/);
  t.regex(cells[4] ?? '', /^\d+(\.\d+)? (B|kB|MB)$/);

  const formatted = await cli(['images', '--storage-root', store, '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  t.is(formatted.stdout, `${ref} ${id.slice(0, 12)}\n`);
  const digests = await cli(['images', '--storage-root', store, '--digests', '--no-trunc']);
  t.true(digests.stdout.includes(digest), digests.stdout);
  t.regex(digests.stdout.split('\n')[0] ?? '', /DIGEST/);
  t.true(digests.stdout.includes(`sha256:${id}`));
  const ids = await cli(['images', '-q', '--storage-root', store]);
  t.is(ids.stdout, `${id.slice(0, 12)}\n`);
  const json = await cli(['images', '--json', '--storage-root', store]);
  const parsed = JSON.parse(json.stdout) as { Id: string; RepoTags: string[]; Digest: string; Size: number; Containers: number; Labels: unknown }[];
  t.is(parsed.length, 1);
  t.is(parsed[0]?.Id, id);
  t.deepEqual(parsed[0]?.RepoTags, [ref]);
  t.is(parsed[0]?.Labels, null, 'an image without labels shows null, as podman');
  t.deepEqual(JSON.parse((await cli(['images', '--format', 'json', '--storage-root', store])).stdout), parsed);
  failedWith(t, await cli(['images', '--storage-root', store, '--format', '{{.Nope}}']), /--format/);
  t.deepEqual(tmpOf(store), []);
});

imageTest('a plain-HTTP registry through registries.conf (insecure = true); --tls-verify=true overrides it', async (t) => {
  const store = tempDir(t);
  const conf = path.join(tempDir(t), 'registries.conf');
  writeFileSync(conf, `[[registry]]\nlocation = "${plain.host}"\ninsecure = true\n`);
  const env = { TSCONTAINER_REGISTRIES_CONF: conf };
  const { ref } = pushed.get('busybox')!;
  failedWith(t, await cli(['pull', '-q', '--storage-root', store, ref]), new RegExp(plain.host.replace(/\./g, '\\.')));
  const pulled = await cli(['pull', '-q', '--storage-root', store, ref], undefined, env);
  t.is(pulled.code, 0, pulled.stderr);
  t.regex(pulled.stdout, /^[0-9a-f]{64}\n$/);
  failedWith(t, await cli(['pull', '-q', '--tls-verify=true', '--storage-root', store, ref], undefined, env), /./);
  t.deepEqual(tmpOf(store), []);
});

imageTest('pull on a terminal redraws one line per layer in place', async (t) => {
  const store = tempDir(t);
  const { ref, digest } = pushed.get('layers')!;
  const command = [CLI, 'pull', '--tls-verify=false', '--storage-root', store, ref].map((w) => `'${w}'`).join(' ');
  // script(1) gives the CLI a pseudo-terminal as stdout.
  const { stdout } = await run('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm' } });
  t.true(stdout.includes('\u001B[2K'), 'lines are cleared and redrawn');
  t.regex(stdout, /\u001B\[4A/, 'the cursor goes back up over the four layers');
  const final = stdout.split(/\r?\n/).map((l) => l.replace(/\r/g, '').replace(/^.*\u001B\[2K/, ''));
  t.is(final.filter((l) => /^[0-9a-f]{12}: Pull complete$/.test(l)).length >= 4, true, stdout);
  t.true(final.includes(`Digest: ${digest}`));
  t.true(final.includes(ref));
});

imageTest('TLS + htpasswd: refused without credentials, login --password-stdin with --cert-dir, pull, inspect as skopeo sees it, logout', async (t) => {
  const store = tempDir(t);
  const auth = path.join(tempDir(t), 'auth.json');
  const { ref, digest } = pushed.get('secure')!;
  const access = ['--cert-dir', secure.certDir!, '--authfile', auth];

  failedWith(t, await cli(['pull', ...access, '--storage-root', store, ref]), /unauthorized|credentials|authentication/i);
  failedWith(t, await cli(['login', '-u', secure.username!, '--password-stdin', ...access, secure.host], 'wrong\n'), /refused the credentials/);
  const untrusted = await cli(['login', '-u', secure.username!, '--password-stdin', '--authfile', auth, secure.host], `${secure.password}\n`);
  failedWith(t, untrusted, /certificate|tls/i);
  const login = await cli(['login', '-u', secure.username!, '--password-stdin', ...access, secure.host], `${secure.password}\n`);
  t.is(login.code, 0, login.stderr);
  t.is(login.stdout, 'Login Succeeded!\n');

  const pulled = await cli(['pull', '-q', ...access, '--storage-root', store, ref]);
  t.is(pulled.code, 0, pulled.stderr);

  const inspected = await cli(['image', 'inspect', '--storage-root', store, ref]);
  t.is(inspected.code, 0, inspected.stderr);
  const [image] = JSON.parse(inspected.stdout) as {
    Id: string;
    Digest: string;
    RepoTags: string[];
    Created: string;
    Architecture: string;
    Os: string;
    Config: Record<string, unknown>;
    RootFS: { Type: string; Layers: string[] };
  }[];
  const creds = `--creds=${secure.username}:${secure.password}`;
  const seen = JSON.parse(await skopeo('inspect', `--cert-dir=${secure.certDir}`, creds, `docker://${ref}`)) as {
    Digest: string;
    Created: string;
    Architecture: string;
    Os: string;
    Env: string[];
    Labels: Record<string, string>;
  };
  const config = JSON.parse(await skopeo('inspect', '--config', `--cert-dir=${secure.certDir}`, creds, `docker://${ref}`)) as {
    rootfs: { diff_ids: string[] };
    config: Record<string, unknown>;
  };
  t.is(image?.Id, pulled.stdout.trim());
  t.is(image?.Digest, seen.Digest);
  t.is(image?.Digest, digest);
  t.deepEqual(image?.RepoTags, [ref]);
  t.is(Date.parse(image?.Created ?? ''), Date.parse(seen.Created));
  t.is(image?.Architecture, seen.Architecture);
  t.is(image?.Os, seen.Os);
  t.deepEqual(image?.Config.Env, seen.Env);
  t.deepEqual(image?.Config.Labels, seen.Labels);
  for (const key of ['User', 'WorkingDir', 'Entrypoint', 'Cmd', 'StopSignal']) t.deepEqual(image?.Config[key], config.config[key], key);
  t.deepEqual(Object.keys(image?.Config.ExposedPorts ?? {}).sort(), Object.keys(imageConfig('busybox-configured').config.ExposedPorts ?? {}).sort());
  t.deepEqual(image?.RootFS, { Type: 'layers', Layers: config.rootfs.diff_ids });
  const [listed] = JSON.parse((await cli(['images', '--json', '--storage-root', store])).stdout) as { Labels: unknown }[];
  t.deepEqual(listed?.Labels, seen.Labels, 'images --json shows the config\'s labels');
  t.truthy(seen.Labels);

  const logout = await cli(['logout', '--authfile', auth, secure.host]);
  t.is(logout.code, 0, logout.stderr);
  t.is(logout.stdout, `Removed login credentials for ${secure.host}\n`);
  failedWith(t, await cli(['logout', '--authfile', auth, secure.host]), /not logged in/i);
  t.deepEqual(tmpOf(store), []);
});

imageTest('credential helpers named by the auth file (credHelpers, credsStore) are run from PATH, only for a registry that asks', async (t) => {
  const store = tempDir(t);
  const bin = tempDir(t);
  const asked = path.join(tempDir(t), 'asked');
  const auth = path.join(tempDir(t), 'auth.json');
  // docker-credential-tstest: records the server it is asked about; answers for the secure
  // registry only, with the password given in its environment.
  writeFileSync(
    path.join(bin, 'docker-credential-tstest'),
    [
      '#!/bin/sh',
      '[ "$1" = get ] || exit 2',
      'server=$(cat)',
      `printf '%s\\n' "$server" >> '${asked}'`,
      `if [ "$server" = '${secure.host}' ] && [ -n "$TSTEST_SECRET" ]; then`,
      `  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" '${secure.username}' "$TSTEST_SECRET"`,
      'else echo "credentials not found in native keychain"; exit 1; fi',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const env = (secret: string) => ({ PATH: `${bin}:${process.env.PATH ?? ''}`, TSTEST_SECRET: secret });
  const access = ['--cert-dir', secure.certDir!, '--authfile', auth, '--storage-root', store];
  const secureRef = pushed.get('secure')!.ref;
  const askedFor = () => (existsSync(asked) ? readFileSync(asked, 'utf8').trim().split('\n') : []);

  writeFileSync(auth, JSON.stringify({ auths: {}, credHelpers: { [secure.host]: 'tstest' } }));
  const pulled = await cli(['pull', '-q', ...access, secureRef], undefined, env(secure.password!));
  t.is(pulled.code, 0, pulled.stderr);
  t.deepEqual(askedFor(), [secure.host], 'asked once, for the registry\'s host');
  failedWith(t, await cli(['pull', '-q', ...access, secureRef], undefined, env('wrong')), /refused the credentials/);
  failedWith(t, await cli(['pull', '-q', ...access, secureRef], undefined, env('')), /authentication|credentials/i);

  // credsStore covers every registry without an entry of its own; an open one never asks.
  writeFileSync(auth, JSON.stringify({ credsStore: 'tstest' }));
  rmSync(asked, { force: true });
  const open = await cli(['pull', '-q', '--tls-verify=false', '--authfile', auth, '--storage-root', store, pushed.get('busybox')!.ref], undefined, env(secure.password!));
  t.is(open.code, 0, open.stderr);
  t.deepEqual(askedFor(), [], 'not run for a registry that wants no credentials');
  t.is((await cli(['image', 'prune', '-a', '-f', '--storage-root', store])).code, 0);
  const stored = await cli(['pull', '-q', ...access, secureRef], undefined, env(secure.password!));
  t.is(stored.code, 0, stored.stderr);
  t.deepEqual(askedFor(), [secure.host]);

  writeFileSync(auth, JSON.stringify({ credHelpers: { [secure.host]: 'absent' } }));
  failedWith(t, await cli(['pull', '-q', ...access, secureRef], undefined, env(secure.password!)), /docker-credential-absent .*not on PATH/);
  t.deepEqual(tmpOf(store), []);
});

/**
 * `tscontainer ARGS` on a terminal (script(1)): each answer is typed once the output since
 * the last one matches its prompt, as a person types. Returns the exit code and the
 * terminal's transcript (what the CLI wrote and the terminal echoed).
 */
function onTerminal(args: readonly string[], answers: readonly (readonly [RegExp, string])[], typeAll = false): Promise<{ code: number | null; transcript: string }> {
  const command = [CLI, ...args].map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'inherit'] });
  let transcript = '';
  let seen = 0;
  let next = 0;
  const answer = () => {
    while (next < answers.length && (typeAll || answers[next]![0].test(transcript.slice(seen)))) {
      seen = transcript.length;
      child.stdin.write(answers[next++]![1]);
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    transcript += d;
    answer();
  });
  if (typeAll) answer();
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(deadline);
      child.stdin.destroy();
      resolve({ code, transcript });
    });
  });
}

imageTest('on a terminal: login asks for the user name and the password (not echoed, typed ahead or not); image prune asks first', async (t) => {
  const store = tempDir(t);
  const auth = path.join(tempDir(t), 'auth.json');
  const access = ['--cert-dir', secure.certDir!, '--authfile', auth];
  const recorded = () => (JSON.parse(readFileSync(auth, 'utf8')) as { auths: Record<string, { auth: string }> }).auths[secure.host]?.auth;
  const expected = Buffer.from(`${secure.username}:${secure.password}`).toString('base64');

  const login = await onTerminal(['login', ...access, secure.host], [[/Username: $/, `${secure.username}\r`], [/Password: $/, `${secure.password}\r`]]);
  t.is(login.code, 0, login.transcript);
  t.regex(login.transcript, /Login Succeeded!/);
  t.false(login.transcript.includes(secure.password!), 'the password is not echoed');
  t.is(recorded(), expected);
  t.is((await cli(['logout', '--authfile', auth, secure.host])).code, 0);

  // Both lines typed before the first prompt (the terminal hands them over one line per read):
  // the password is not lost with the user name.
  const ahead = await onTerminal(['login', ...access, secure.host], [[/^/, `${secure.username}\r${secure.password}\r`]], true);
  t.is(ahead.code, 0, ahead.transcript);
  t.is(recorded(), expected);

  const wrong = await onTerminal(['login', ...access, secure.host], [[/Username: $/, `${secure.username}\r`], [/Password: $/, 'not-the-password\r']]);
  t.is(wrong.code, 125, wrong.transcript);
  t.regex(wrong.transcript, /tscontainer: .*refused the credentials/);

  const at = ['--storage-root', store];
  t.is((await cli(['pull', '-q', '--tls-verify=false', ...at, pushed.get('busybox')!.ref])).code, 0);
  const kept = await onTerminal(['image', 'prune', '-a', ...at], [[/Are you sure you want to continue\? \[y\/N\] $/, 'n\r']]);
  t.is(kept.code, 0, kept.transcript);
  t.regex(kept.transcript, /WARNING! This command removes all images without at least one container associated to them\./);
  t.false(kept.transcript.includes('Total reclaimed space'));
  t.is((await cli(['images', '-q', ...at])).stdout.trim().split('\n').length, 1, 'answered no: the image stays');
  const pruned = await onTerminal(['image', 'prune', '-a', ...at], [[/\[y\/N\] $/, 'y\r']]);
  t.is(pruned.code, 0, pruned.transcript);
  t.regex(pruned.transcript, /Total reclaimed space: [1-9]/);
  t.is((await cli(['images', '-q', ...at])).stdout, '', 'answered yes: the image is gone');
  t.deepEqual(tmpOf(store), []);
});

imageTest('tag, rmi (Untagged/Deleted, by id with two names refused), image prune, system df', async (t) => {
  const store = tempDir(t);
  const at = ['--storage-root', store];
  const busybox = pushed.get('busybox')!.ref;
  const layers = pushed.get('layers')!.ref;
  for (const ref of [busybox, layers]) t.is((await cli(['pull', '-q', '--tls-verify=false', ...at, ref])).code, 0);
  t.is((await cli(['tag', ...at, busybox, 'localhost/mine'])).code, 0);
  const names = await cli(['images', ...at, '--format', '{{.Repository}}:{{.Tag}}']);
  t.deepEqual(names.stdout.trim().split('\n').sort(), [busybox, layers, 'localhost/mine:latest'].sort());
  const rows = (await cli(['images', ...at, '--format', '{{json .}}'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  t.deepEqual(rows.map((r) => `${r.Repository}:${r.Tag}`).sort(), [busybox, layers, 'localhost/mine:latest'].sort());
  t.true(rows.every((r) => /^[0-9a-f]{12}$/.test(r.ID ?? '') && /^\S+ \S*B$/.test(r.Size ?? '')), JSON.stringify(rows));

  const df = await cli(['system', 'df', ...at]);
  t.is(df.code, 0, df.stderr);
  const dfLines = df.stdout.trim().split('\n');
  t.regex(dfLines[0] ?? '', /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  t.regex(dfLines[1] ?? '', /^Images\s+2\s+0\s+\S+ \S+\s+\S+ \S+ \(100%\)$/);
  t.regex(dfLines[2] ?? '', /^Containers\s+0\s+0\s/);
  t.regex(dfLines[3] ?? '', /^Local Volumes\s+0\s+0\s/);
  const dfJson = JSON.parse((await cli(['system', 'df', '--json', ...at])).stdout) as { images: { total: number }; layers: { total: number } };
  t.is(dfJson.images.total, 2);
  t.is(dfJson.layers.total, 4, 'busybox shares its layer with layers');

  const id = JSON.parse((await cli(['images', '--json', ...at])).stdout)[0].Id as string;
  failedWith(t, await cli(['rmi', ...at, id.slice(0, 12)]), /./, 2);
  const untag = await cli(['rmi', ...at, 'localhost/mine']);
  t.is(untag.code, 0, untag.stderr);
  t.is(untag.stdout, 'Untagged: localhost/mine:latest\n');
  const removed = await cli(['rmi', ...at, busybox]);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout, `Untagged: ${busybox}\nDeleted: ${id}\n`);
  failedWith(t, await cli(['rmi', ...at, busybox]), /not in the store|not known/);

  const dangling = await cli(['image', 'prune', '-f', ...at]);
  t.is(dangling.code, 0, dangling.stderr);
  t.regex(dangling.stdout, /^Total reclaimed space: \S+ \S+\n$/);
  const all = await cli(['image', 'prune', '-a', '-f', ...at]);
  t.is(all.code, 0, all.stderr);
  const pruned = all.stdout.trim().split('\n');
  t.is(pruned.length, 2);
  t.regex(pruned[0] ?? '', /^[0-9a-f]{64}$/);
  t.regex(pruned[1] ?? '', /^Total reclaimed space: [1-9]/);
  t.is((await cli(['images', '-q', ...at])).stdout, '');
  t.deepEqual(readdirSync(path.join(store, 'layers')), []);
  t.deepEqual(tmpOf(store), []);
});

imageTest('load: skopeo\'s docker-archive and oci-archive, podman save\'s archives, from -i and from stdin', async (t) => {
  const cases = [
    ['busybox.docker-archive.tar', ['localhost/tsfixture/busybox:latest']],
    ['busybox.oci-archive.tar', ['localhost/tsfixture/busybox:latest']],
    ['podman-save.docker-archive.tar', ['localhost/tsfixture/busybox:latest', 'localhost/tsfixture/busybox:configured']],
    ['podman-save.oci-archive.tar', ['localhost/tsfixture/busybox:configured']],
    ['podman-save.oci-dir', ['localhost/tsfixture/busybox:configured']],
  ] as const;
  for (const [file, expected] of cases) {
    const store = tempDir(t);
    const r = await cli(['load', '-q', '-i', imageArchive(file), '--storage-root', store]);
    t.is(r.code, 0, `${file}: ${r.stderr}`);
    const loaded = r.stdout.trim().split('\n');
    t.deepEqual(
      loaded.map((l) => l.replace(/^Loaded image: /, '')).sort(),
      [...expected].sort(),
      `${file}: ${r.stdout}`,
    );
    const listed = JSON.parse((await cli(['images', '--json', '--storage-root', store])).stdout) as { RepoTags: string[] }[];
    t.deepEqual(listed.flatMap((i) => i.RepoTags).sort(), [...expected].sort(), file);
    t.deepEqual(tmpOf(store), [], file);
  }
  const store = tempDir(t);
  const piped = await cli(['load', '--storage-root', store], readFileSync(imageArchive('busybox.docker-archive.tar')));
  t.is(piped.code, 0, piped.stderr);
  t.is(piped.stdout, 'Loaded image: localhost/tsfixture/busybox:latest\n');
  t.deepEqual(tmpOf(store), []);
});

imageTest('save then podman load, in docker-archive and oci-archive; podman runs nothing of ours', async (t) => {
  const store = tempDir(t);
  const out = tempDir(t);
  const { ref } = pushed.get('configured')!;
  const pulled = await cli(['pull', '-q', '--tls-verify=false', '--storage-root', store, ref]);
  t.is(pulled.code, 0, pulled.stderr);
  const id = pulled.stdout.trim();
  const podman = await privatePodman();
  t.teardown(() => podman.remove());
  for (const format of ['docker-archive', 'oci-archive'] as const) {
    const file = path.join(out, `${format}.tar`);
    const saved = await cli(['save', '--storage-root', store, '--format', format, '-o', file, ref]);
    t.is(saved.code, 0, saved.stderr);
    t.is(saved.stdout, '');
    const { stdout } = await run(podman.podman, ['load', '-i', file]);
    t.regex(stdout, new RegExp(`Loaded image: ${ref.replace(/[.]/g, '\\.')}`), stdout);
    const { stdout: inspected } = await run(podman.podman, ['image', 'inspect', '--format', '{{.Id}}', ref]);
    t.is(inspected.trim(), id, `${format}: the same image id in podman`);
    await run(podman.podman, ['rmi', '-f', ref]);
  }
  // To stdout, and loaded back by us.
  const piped = path.join(out, 'stdout.tar');
  const child = await cli(['save', '--storage-root', store, ref]);
  t.is(child.code, 0, child.stderr);
  writeFileSync(piped, Buffer.from(child.stdout, 'latin1'));
  const other = tempDir(t);
  const viaShell = await run('sh', ['-c', `node "${CLI}" save --storage-root "$1" "$2" | node "${CLI}" load -q --storage-root "$3"`, 'sh', store, ref, other]);
  t.is(viaShell.stdout, `Loaded image: ${ref}\n`);
  t.deepEqual(tmpOf(store), []);
  t.deepEqual(tmpOf(other), []);
});

imageTest('a full disk: pull and load fail in one sentence naming it, exit 125, and keep nothing', async (t) => {
  // A store on a tmpfs smaller than the busybox image (one 1 MB blob, 2 MB unpacked).
  const store = tempDir(t);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=1200k,mode=0700', 'tsfull', store]);
  t.teardown(() => void spawnSync('umount', ['-l', store], { stdio: 'ignore' }));
  const at = ['--storage-root', store];
  const full = /no space left to [a-z]+ \/\S+: No space left on device/;
  failedWith(t, await cli(['pull', ...at, '--tls-verify=false', pushed.get('busybox')!.ref]), full);
  t.deepEqual(tmpOf(store), []);
  failedWith(t, await cli(['load', ...at, '-i', imageArchive('busybox.docker-archive.tar')]), full);
  t.deepEqual(tmpOf(store), []);
  t.is((await cli(['images', '-q', ...at])).stdout, '');
  // What is left is the store's skeleton: no blob, no layer, no container.
  const { stdout } = await run('find', [store, '-type', 'f', '!', '-name', '*.lock', '!', '-name', 'images.json']);
  t.is(stdout, '');
  // Room again: the same pull succeeds.
  await run('mount', ['-o', 'remount,size=16m', store]);
  t.is((await cli(['pull', '-q', ...at, '--tls-verify=false', pushed.get('busybox')!.ref])).code, 0);
});

imageTest('bad input: one sentence, exit 125, nothing left in tmp/', async (t) => {
  const store = tempDir(t);
  const at = ['--storage-root', store];
  failedWith(t, await cli(['image', 'inspect', ...at, 'no-such-image']), /^tscontainer: image no-such-image is not in the store$/);
  failedWith(t, await cli(['pull', ...at, '--tls-verify=false', `${plain.host}/tests/busybox:no-such-tag`]), /no-such-tag|manifest/i);
  failedWith(t, await cli(['pull', ...at, 'Not A Reference']), /reference/i);
  failedWith(t, await cli(['pull', ...at, '--tls-verify=maybe', 'busybox']), /--tls-verify/);
  const down = await startRegistry();
  await down.stop();
  failedWith(t, await cli(['pull', ...at, '--tls-verify=false', `${down.host}/tests/busybox`]), /cannot reach registry/);
  const garbage = path.join(tempDir(t), 'garbage.tar');
  writeFileSync(garbage, Buffer.alloc(10_000, 7));
  failedWith(t, await cli(['load', ...at, '-i', garbage]), /garbage\.tar/);
  failedWith(t, await cli(['load', ...at], Buffer.alloc(5000, 1)), /./);
  failedWith(t, await cli(['load', ...at, '-i', path.join(store, 'missing.tar')]), /missing\.tar/);
  failedWith(t, await cli(['save', ...at, '-o', path.join(store, 'x.tar'), 'no-such-image']), /no-such-image/);
  failedWith(t, await cli(['save', ...at, '--format', 'oci-dir', 'no-such-image']), /-o/);
  failedWith(t, await cli(['tag', ...at, 'no-such-image', 'x']), /no-such-image/);
  failedWith(t, await cli(['login', '-u', 'x', '--password-stdin', '--tls-verify=false', `${down.host}`], 'y\n'), /cannot reach/);
  t.false(existsSync(path.join(store, 'x.tar')));
  t.deepEqual(tmpOf(store), []);
  t.is((await cli(['images', '-q', ...at])).stdout, '');
});
