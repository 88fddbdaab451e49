// The fast start of `tscontainer run` and `pull` parses the flags from oclif's manifest without
// loading oclif: where it gives an answer it must be oclif's own, and anything it is not
// sure of (errors included) must be left to oclif.
import { readFileSync } from 'node:fs';

import { parse } from '@oclif/core/parser';
import test from 'ava';

import { splitCommand } from '../../ts/cli/argv.js';
import { flagsFromManifest, parsePull, parseRunFlags, runFlagsFromManifest, type ManifestFlag } from '../../ts/cli/fast-start.js';
import { normalizeTlsVerify } from '../../ts/cli/registry-options.js';
import Pull from '../../ts/commands/pull.js';
import Run from '../../ts/commands/run.js';

// Written by `npm run build:ts` (oclif manifest) from the command's own flag definitions.
const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as unknown;
const shapes = runFlagsFromManifest(manifest);

async function oclifFlags(options: string[]): Promise<Record<string, unknown> | Error> {
  try {
    const { flags } = await parse(options, { flags: Run.flags, strict: true });
    return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  } catch (error) {
    return error as Error;
  }
}

test('the manifest describes run with no rule the fast start cannot apply', (t) => {
  t.truthy(shapes, 'run the build (npm run build:ts) so oclif.manifest.json exists');
});

const accepted: string[][] = [
  ['--rm', '--', 'true'],
  ['--rm', 'true'],
  ['--memory', '50M', '--pids-limit', '64', '--cpus=0.5', 'sh', '-c', 'echo $A'],
  ['--pids-limit', '-1', 'true'],
  ['-e', 'A=1', '-e', 'B', '--env=C=3', '-w', '/tmp', '-u', '1000:1000', 'id'],
  ['-it', 'sh'],
  ['-v', '/a:/b:ro', '--volume', '/c:/d', '--read-only', '--net', 'host', '--name', 'x', '--hostname', 'h', 'true'],
  ['-d', '--rm', '--rootfs', '/r', '/bin/server', '-d'],
];

for (const argv of accepted) {
  test(`same flags as oclif: run ${argv.join(' ')}`, async (t) => {
    const { options } = splitCommand(argv, shapes as Record<string, ManifestFlag>);
    const fast = parseRunFlags(options, shapes!);
    t.truthy(fast, 'the fast start takes this command line');
    t.deepEqual(fast as Record<string, unknown>, await oclifFlags(options));
  });
}

const leftToOclif: string[][] = [
  ['--help', 'true'],
  ['-h', 'true'],
  ['--bogus', 'true'],
  ['--name', 'a', '--name', 'b', 'true'],
  ['--pids-limit', 'many', 'true'],
  ['--memory'],
  ['--memory', '--rm', 'true'],
  ['--memory=', 'true'],
  ['--rm=yes', 'true'],
  ['-d', '-t', 'sh'],
  ['-ie', 'A=1', 'sh'],
  ['-x', 'sh'],
];

for (const argv of leftToOclif) {
  test(`left to oclif: run ${argv.join(' ')}`, (t) => {
    const { options } = splitCommand(argv, shapes as Record<string, ManifestFlag>);
    t.is(parseRunFlags(options, shapes!), undefined);
  });
}

test('a flag with a rule the fast start does not apply turns it off', (t) => {
  const withRule = structuredClone(manifest) as { commands: { run: { flags: Record<string, Record<string, unknown>> } } };
  withRule.commands.run.flags.memory!.dependsOn = ['rootfs'];
  t.is(runFlagsFromManifest(withRule), undefined);
});

test('a missing or unreadable manifest turns the fast start off', (t) => {
  // readJson() gives undefined for a file it cannot read or parse.
  t.is(runFlagsFromManifest(undefined), undefined);
  t.is(runFlagsFromManifest(null), undefined);
  t.is(runFlagsFromManifest({ commands: { run: { flags: null } } }), undefined);
});

test('a flag the fast start does not map is left to oclif', (t) => {
  const extra = { ...shapes!, 'add-host': { name: 'add-host', type: 'option' as const, multiple: true } };
  t.is(parseRunFlags(['--add-host', 'db:10.0.0.2'], extra), undefined);
});

test("the fast start's bundle holds no oclif: run's flag types are read from Run.flags as types only", async (t) => {
  const { build } = await import('esbuild');
  const entry = new URL('../../ts/cli/fast-start.ts', import.meta.url).pathname;
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(metafile.inputs);
  t.true(inputs.some((input) => input.endsWith('ts/cli/run-options.ts')), 'the table is in it');
  t.deepEqual(
    inputs.filter((input) => input.includes('@oclif/') || input.includes('ts/commands/')),
    [],
  );
});

// `pull`: the same promise, for the command whose memory is measured (no oclif loaded).
const pullShapes = flagsFromManifest(manifest, 'pull');

async function oclifPull(argv: string[]): Promise<{ ref: string; flags: Record<string, unknown> } | Error> {
  try {
    const { args, flags } = await parse(normalizeTlsVerify(argv), { flags: Pull.flags, args: Pull.args, strict: true });
    return { ref: args.ref as string, flags: Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
  } catch (error) {
    return error as Error;
  }
}

test('the manifest describes pull with no rule the fast start cannot apply', (t) => {
  t.truthy(pullShapes);
});

test('pull: where the fast start takes a command line, oclif reads the same reference and flags', async (t) => {
  const saved = process.env.TSCONTAINER_STORAGE;
  delete process.env.TSCONTAINER_STORAGE;
  try {
    for (const argv of [
      ['debian:12'],
      ['-q', '127.0.0.1:5000/tests/busybox'],
      ['--tls-verify=false', '--platform', 'linux/arm64/v8', 'alpine'],
      ['--no-tls-verify', '--cert-dir=/etc/certs', '--authfile', '/a.json', 'r'],
      ['--tls-verify', '--storage-root', '/s', '-q', 'host:5000/ns/name@sha256:' + 'a'.repeat(64)],
    ]) {
      const fast = parsePull(argv, pullShapes!);
      t.truthy(fast, `the fast start takes ${argv.join(' ')}`);
      t.deepEqual(fast as unknown, await oclifPull(argv), argv.join(' '));
    }
    process.env.TSCONTAINER_STORAGE = '/from/env';
    t.deepEqual(parsePull(['r'], pullShapes!), { ref: 'r', flags: { 'storage-root': '/from/env' } });
    t.deepEqual(parsePull(['--storage-root=/s', 'r'], pullShapes!), { ref: 'r', flags: { 'storage-root': '/s' } });
    t.deepEqual(parsePull(['r'], pullShapes!) as unknown, await oclifPull(['r']));
  } finally {
    if (saved === undefined) delete process.env.TSCONTAINER_STORAGE;
    else process.env.TSCONTAINER_STORAGE = saved;
  }
});

test('pull: anything else is left to oclif', (t) => {
  for (const argv of [
    [],
    ['--help'],
    ['a', 'b'],
    ['r', '-q'],
    ['--', 'r'],
    ['-q', '-q', 'r'],
    ['--tls-verify=maybe', 'r'],
    ['--platform', 'r'],
    ['--unknown', 'r'],
  ]) {
    t.is(parsePull(argv, pullShapes!), undefined, argv.join(' '));
  }
});
