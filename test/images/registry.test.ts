// The registry helpers that the images tests build on (test/helpers/registry.ts): a registry
// serves what is pushed to it, with TLS only to holders of its CA and with authentication only
// to holders of its password; the faulty proxy breaks what it is told to; and a registry goes
// away, directory and process, when stopped or when the process that started it dies.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { installed, isRoot, requires } from '../helpers/host.js';
import { imageSource } from '../helpers/images.js';
import { pushImage, registryFlags, skopeo, startFaultyProxy, startRegistry } from '../helpers/registry.js';
import { repoRoot } from '../helpers/paths.js';

const run = promisify(execFile);

// Under CI, .ci/run installs the tools: a missing one fails these tests instead of skipping them.
const registryTest = requires(
  [isRoot, 'the test images are built as root'],
  ...(process.env.CI ? [] : [installed('docker-registry'), installed('skopeo'), installed('htpasswd')]),
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function registryAnswers(url: string, ca?: string, user?: string): Promise<string> {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...(ca ? ['--cacert', ca] : []), ...(user ? ['-u', user] : []), `${url}/v2/`];
  return (await run('curl', args).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? 'failed' }))).stdout;
}

registryTest('a plain registry serves the image pushed to it, manifest digest for digest', async (t) => {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  t.regex(registry.host, /^127\.0\.0\.1:\d+$/);
  t.is(await registryAnswers(registry.url), '200');
  const { ref, digest } = await pushImage(registry, 'busybox:configured');
  t.is(ref, `${registry.host}/tests/busybox:configured`);
  const raw = await skopeo('inspect', '--raw', ...registryFlags(registry, 'skopeo'), `docker://${ref}`);
  const local = await skopeo('inspect', '--raw', imageSource('busybox:configured'));
  t.is(raw, local);
  t.regex(digest, /^sha256:[0-9a-f]{64}$/);
});

registryTest('a TLS registry with htpasswd answers only with its CA and its password', async (t) => {
  const registry = await startRegistry({ tls: true, auth: true });
  t.teardown(() => registry.stop());
  t.true(registry.url.startsWith('https://'));
  t.is(await registryAnswers(registry.url), '000', 'an unknown CA: no answer');
  t.is(await registryAnswers(registry.url, registry.ca), '401');
  t.is(await registryAnswers(registry.url, registry.ca, `${registry.username}:${registry.password}`), '200');
  const { ref } = await pushImage(registry, 'multiarch', { format: 'v2s2' });
  const list = JSON.parse(await skopeo('inspect', '--raw', ...registryFlags(registry, 'skopeo'), `docker://${ref}`)) as { mediaType: string };
  t.is(list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
  await t.throwsAsync(skopeo('inspect', `--cert-dir=${registry.certDir}`, `docker://${ref}`), { message: /unauthorized|authentication required/i });
});

registryTest('the faulty proxy corrupts a blob, and logs the requests it saw', async (t) => {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  await pushImage(registry, 'busybox');
  const proxy = await startFaultyProxy(registry, 'corrupt@GET /v2/.*/blobs/');
  t.teardown(() => proxy.stop());
  const out = path.join(registry.dir, 'pulled');
  await t.throwsAsync(skopeo('copy', '-q', '--src-tls-verify=false', `docker://${proxy.host}/tests/busybox:latest`, `oci:${out}:x`), {
    message: /Digest did not match/,
  });
  t.true(proxy.requests().some((r) => /^GET \/v2\/tests\/busybox\/blobs\/sha256:\S+ -> corrupt 200$/.test(r)), proxy.requests().join('\n'));
});

registryTest('a registry stops when stopped, and when the process that started it is killed', async (t) => {
  const registry = await startRegistry();
  const pid = Number((await run('cat', [path.join(registry.dir, 'serve.pid')])).stdout);
  await registry.stop();
  t.false(existsSync(registry.dir));
  t.false(alive(pid));

  // A process that starts one and is then killed with SIGKILL: its registry goes too.
  const script = `import { startRegistry } from ${JSON.stringify(path.join(repoRoot, 'test', 'helpers', 'registry.ts'))};
    const r = await startRegistry(); console.log(r.dir); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  t.true(existsSync(dir));
  child.kill('SIGKILL');
  const deadline = Date.now() + 10_000;
  while (existsSync(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.false(existsSync(dir), `${dir} is still there 10 s after its owner was killed`);
});
