import test from 'ava';

import {
  ImageError,
  ImageInUseError,
  ImageNotKnownError,
  InternalError,
  InvalidOptionError,
  RegistryError,
  fromNative,
} from '../../ts/api/errors.js';
import { PullProgress, applyTemplate, pullingFrom, humanSize, normalizeTlsVerify, shortId, splitName } from '../../ts/cli/images.js';

function nativeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('image codes from the addon become their classes, with exit 125 (2 for an image in use)', (t) => {
  const unknown = fromNative(nativeError('image-not-known', 'image x is not in the store'));
  t.true(unknown instanceof ImageNotKnownError);
  t.is(unknown.exitCode, 125);
  const inUse = fromNative(nativeError('in-use', 'image x is used by container c'));
  t.true(inUse instanceof ImageInUseError);
  t.is(inUse.exitCode, 2);
  for (const code of ['unauthorized', 'tls', 'registry-unreachable', 'digest-mismatch', 'manifest-unknown'] as const) {
    const e = fromNative(nativeError(code, 'm'));
    t.true(e instanceof RegistryError, code);
    t.is(e.code as string, `ERR_TSC_${code.toUpperCase().replaceAll('-', '_')}`);
    t.is(e.coreCode, code);
  }
  const other = fromNative(nativeError('hostile-layer', 'layer refused'));
  t.true(other instanceof ImageError && !(other instanceof RegistryError));
  t.is(other.code, 'ERR_TSC_HOSTILE_LAYER');
  t.is(other.exitCode, 125);
  // The codes that were there before keep their classes.
  t.true(fromNative(nativeError('invalid-option', 'm')) instanceof InvalidOptionError);
  t.true(fromNative(nativeError('internal', 'm')) instanceof InternalError);
});

test('sizes in decimal units with three significant digits, as podman', (t) => {
  t.is(humanSize(0), '0 B');
  t.is(humanSize(999), '999 B');
  t.is(humanSize(1000), '1 kB');
  t.is(humanSize(4_260_000), '4.26 MB');
  t.is(humanSize(4_264_999), '4.26 MB');
  t.is(humanSize(123_456_789), '123 MB');
  t.is(humanSize(1.5e9), '1.5 GB');
});

test('names split into REPOSITORY and TAG', (t) => {
  t.deepEqual(splitName('docker.io/library/debian:12'), { repository: 'docker.io/library/debian', tag: '12' });
  t.deepEqual(splitName('127.0.0.1:5000/a/b:v1'), { repository: '127.0.0.1:5000/a/b', tag: 'v1' });
  t.deepEqual(splitName('127.0.0.1:5000/a/b'), { repository: '127.0.0.1:5000/a/b', tag: '<none>' });
  t.deepEqual(splitName(`x/y@sha256:${'a'.repeat(64)}`), { repository: 'x/y', tag: '<none>' });
  t.is(shortId(`sha256:${'0123456789ab'.repeat(5)}0123`), '0123456789ab');
});

test('Go templates of fields, with table headers; anything else refused in one sentence', (t) => {
  const rows = [
    { Repository: 'a', Tag: '1', ID: 'x' },
    { Repository: 'bbbb', Tag: '22', ID: 'y' },
  ];
  const fields = ['Repository', 'Tag', 'ID'];
  t.deepEqual(applyTemplate('{{.Repository}}:{{ .Tag }}', rows, fields), ['a:1', 'bbbb:22']);
  t.deepEqual(applyTemplate('{{.ID}}\\t{{.Tag}}', rows, fields), ['x\t1', 'y\t22']);
  t.deepEqual(applyTemplate('table {{.Repository}}\\t{{.ID}}', rows, fields), ['REPOSITORY   ID', 'a            x', 'bbbb         y']);
  const refused = t.throws(() => applyTemplate('{{.Nope}}', rows, fields));
  t.true(refused instanceof InvalidOptionError);
  t.regex(refused.message, /^invalid --format "\{\{\.Nope\}\}": "\{\{\.Nope\}\}" is not one of \{\{\.Repository\}\}, \{\{\.Tag\}\}, \{\{\.ID\}\}, \{\{json \.\}\}$/);
  t.throws(() => applyTemplate('{{range .}}{{end}}', rows, fields), { instanceOf: InvalidOptionError });
  t.throws(() => applyTemplate('{{.}}', rows, fields), { instanceOf: InvalidOptionError });
  t.throws(() => applyTemplate('{{json .Nope}}', rows, fields), { instanceOf: InvalidOptionError });
});

test('{{json .}} is the row\'s fields as one JSON object; {{json .Field}} one field', (t) => {
  const rows = [{ Repository: 'a "b"', Tag: '1', ID: 'x', image: { hidden: true } }];
  const fields = ['Repository', 'Tag', 'ID'];
  t.deepEqual(applyTemplate('{{json .}}', rows, fields), ['{"Repository":"a \\"b\\"","Tag":"1","ID":"x"}']);
  t.deepEqual(applyTemplate('{{ json .Repository }} {{.ID}}', rows, fields), ['"a \\"b\\"" x']);
});

test('--tls-verify=VALUE becomes the boolean flag oclif parses, up to a --', (t) => {
  t.deepEqual(normalizeTlsVerify(['--tls-verify=false', 'x']), ['--no-tls-verify', 'x']);
  t.deepEqual(normalizeTlsVerify(['--tls-verify=TRUE']), ['--tls-verify']);
  t.deepEqual(normalizeTlsVerify(['--tls-verify']), ['--tls-verify']);
  t.deepEqual(normalizeTlsVerify(['--', '--tls-verify=false']), ['--', '--tls-verify=false']);
  t.throws(() => normalizeTlsVerify(['--tls-verify=maybe']), { instanceOf: InvalidOptionError, message: /--tls-verify/ });
});

test('progress off a terminal: one line per event of note, none for bytes', (t) => {
  let out = '';
  const progress = new PullProgress((text) => (out += text), false);
  const image = 'docker.io/library/debian:12';
  const layer = `sha256:${'ab'.repeat(32)}`;
  progress.onProgress({ image, layer, phase: 'waiting', done: 0, total: 10 });
  progress.onProgress({ image, layer, phase: 'downloading', done: 5, total: 10 });
  progress.onProgress({ image, layer, phase: 'downloading', done: 10, total: 10 });
  progress.onProgress({ image, layer, phase: 'extracting', done: 10, total: 10 });
  progress.onProgress({ image, layer, phase: 'done', done: 10, total: 10 });
  t.is(out, 'abababababab: Pulling fs layer\nabababababab: Download complete\nabababababab: Pull complete\n');
});

test("a pull's layers follow Docker's `TAG: Pulling from REPOSITORY`, each image's once", (t) => {
  let out = '';
  const progress = new PullProgress((text) => (out += text), false, { pulling: true });
  const layer = `sha256:${'cd'.repeat(32)}`;
  for (const image of ['docker.io/library/debian:12', 'docker.io/library/debian:12', '127.0.0.1:5000/t/app@sha256:00ff']) {
    progress.onProgress({ image, layer, phase: 'waiting', done: 0, total: 1 });
  }
  progress.onProgress({ image: '127.0.0.1:5000/t/app@sha256:00ff', layer, phase: 'already-exists', done: 1, total: 1 });
  t.is(
    out,
    '12: Pulling from library/debian\ncdcdcdcdcdcd: Pulling fs layer\n' +
      'sha256:00ff: Pulling from t/app\ncdcdcdcdcdcd: Pulling fs layer\ncdcdcdcdcdcd: Already exists\n',
  );
  t.is(pullingFrom('quay.io/org/app:v1@sha256:ab'), 'sha256:ab: Pulling from org/app');
  t.is(pullingFrom('localhost:5000/app:1'), '1: Pulling from app');
  t.is(pullingFrom('app:1'), undefined, 'no registry: an archive\'s name');
  let loaded = '';
  new PullProgress((text) => (loaded += text), false).onProgress({ image: 'docker.io/library/x:1', layer, phase: 'waiting', done: 0, total: 1 });
  t.is(loaded, 'cdcdcdcdcdcd: Pulling fs layer\n', 'a load has no such line');
});
