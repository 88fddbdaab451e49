import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { outputFiles, readOutput, tailStart } from '../../ts/api/output.js';

function bundle(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsc-output-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

async function read(dir: string, tail?: number): Promise<string> {
  let text = '';
  for await (const chunk of readOutput(dir, { tail }, () => false)) text += chunk;
  return text;
}

test('the output files are read oldest first, across rotations', async (t) => {
  const dir = bundle({ 'output.log.2': 'a\nb\n', 'output.log.1': 'c\n', 'output.log': 'd\ne' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.deepEqual(
    outputFiles(dir).map((f) => path.basename(f)),
    ['output.log.2', 'output.log.1', 'output.log'],
  );
  t.is(await read(dir), 'a\nb\nc\nd\ne');
  t.is(await read(dir, 2), 'd\ne', 'a last line without its newline counts');
  t.is(await read(dir, 3), 'c\nd\ne');
  t.is(await read(dir, 4), 'b\nc\nd\ne', 'the tail reaches into older files');
  t.is(await read(dir, 100), 'a\nb\nc\nd\ne');
  t.is(await read(dir, 0), '');
});

test('a tail that ends with a newline, and an empty current file', async (t) => {
  const dir = bundle({ 'output.log.1': 'x\ny\n', 'output.log': '' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.deepEqual(tailStart(outputFiles(dir), 1), { index: 0, offset: 2 });
  t.is(await read(dir, 1), 'y\n');
  t.is(await read(dir), 'x\ny\n');
});

test('multi-byte characters split across chunks arrive whole', async (t) => {
  const text = 'é'.repeat(70_000);
  const dir = bundle({ 'output.log': text });
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.is(await read(dir), text);
});
