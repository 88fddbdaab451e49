// Every flag of `tscontainer run` sets an option of the typed API, through one table
// (ts/cli/run-options.ts): a flag added to Run.flags without an entry is caught here (and by
// the compiler), never silently dropped.
import * as Flags from '@oclif/core/flags';
import test from 'ava';

import { InternalError } from '../../ts/api/errors.js';
import { RUN_FLAGS, isIntegerFlag, runCommand, unmappedFlags, type RunFlags } from '../../ts/cli/run-options.js';
import Run from '../../ts/commands/run.js';

type Definition = (typeof Run.flags)[keyof typeof Run.flags];

/** A value of the kind the flag's definition parses to: what oclif would hand over. */
async function sample(definition: Definition): Promise<unknown> {
  if (definition.type === 'boolean') return true;
  const parse = definition.parse as (input: string, context: unknown, options: unknown) => Promise<unknown>;
  const options = (definition as { options?: readonly string[] }).options;
  const value = await parse(options?.[0] ?? '7', {}, definition);
  return definition.multiple === true ? [value] : value;
}

test('every flag of run has an entry', (t) => {
  t.deepEqual(unmappedFlags(Run.flags), []);
});

test('a flag added to the definitions without an entry is caught', (t) => {
  const flags = { ...Run.flags, 'add-host': Flags.string({ multiple: true, description: 'HOST:IP' }) };
  t.deepEqual(unmappedFlags(flags), ['add-host']);
  // And if such a flag is parsed anyway, it is refused rather than dropped.
  const parsed = { 'add-host': ['db:10.0.0.2'] } as Partial<RunFlags>;
  const error = t.throws(() => runCommand(parsed, ['true']), { instanceOf: InternalError });
  t.regex(error?.message ?? '', /--add-host sets no option/);
});

test('each flag reaches the option its entry names, with the value as parsed, and nothing else', async (t) => {
  for (const [flag, definition] of Object.entries(Run.flags) as [keyof typeof RUN_FLAGS, Definition][]) {
    const value = await sample(definition);
    const entry = RUN_FLAGS[flag];
    const option = typeof entry === 'string' ? entry : 'integer' in entry ? entry.integer : entry.boolean;
    // A `{ boolean }` entry reads the words true and false.
    const expected = typeof entry === 'object' && 'boolean' in entry ? value === 'true' : value;
    t.deepEqual(runCommand({ [flag]: value }, ['sh']), { command: ['sh'], [option]: expected }, flag);
  }
  t.deepEqual(runCommand({}, ['sh']), { command: ['sh'] }, 'an absent flag sets nothing');
});

test('the integer flags of the table are the integer flags of the definitions', async (t) => {
  for (const [flag, definition] of Object.entries(Run.flags)) {
    const parsed = definition.type === 'option' ? await sample(definition) : undefined;
    t.is(isIntegerFlag(flag), typeof parsed === 'number', flag);
  }
});
