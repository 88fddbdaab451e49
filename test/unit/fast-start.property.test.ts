// The fast start of `tscontainer run` against oclif over generated command lines: flags in
// every form (`--flag=value`, `--flag value`, `-e K=V`, `-eK=V`, `-e=K=V`, `-it`, repeated,
// unknown, without their value, negative numbers, values that look like flags), `--`, and a
// command. Wherever the fast start takes a command line, oclif (as the run command calls it)
// must take it too and agree on every flag; wherever oclif refuses one, the fast start must
// leave it to oclif. Leaving a line to oclif is always allowed, but well-formed lines must be
// taken: that is what the fast start is for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { parse } from '@oclif/core/parser';
import test from 'ava';
import fc from 'fast-check';

import { splitCommand } from '../../ts/cli/argv.js';
import { parseRunFlags, runFlagsFromManifest, type ManifestFlag } from '../../ts/cli/fast-start.js';
import { runCommand } from '../../ts/cli/run-options.js';
import Run from '../../ts/commands/run.js';

const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as unknown;
const shapes = runFlagsFromManifest(manifest) as Record<string, ManifestFlag>;
const flags = Object.values(shapes);
const withValue = flags.filter((f) => f.type === 'option');
const booleans = flags.filter((f) => f.type === 'boolean');
const withChar = flags.filter((f): f is ManifestFlag & { char: string } => f.char !== undefined);
const chars = withChar.map((f) => f.char);

/** What the run command does with `argv`: its split, then oclif's parse of the flags. */
async function oclif(options: string[]): Promise<{ flags: Record<string, unknown>; ignored: string[] } | Error> {
  try {
    const result = await parse(options, { flags: Run.flags, args: Run.args ?? {}, strict: Run.strict });
    const flags = Object.fromEntries(Object.entries(result.flags).filter(([, v]) => v !== undefined));
    return { flags, ignored: result.argv as string[] };
  } catch (error) {
    return error as Error;
  }
}

/** The fast start's answer for `argv`, as fastRun() reaches it. */
function fast(argv: string[]) {
  const { options, command } = splitCommand(argv, shapes);
  return { options, command, parsed: command.length === 0 ? undefined : parseRunFlags(options, shapes) };
}

// Values: ordinary ones, and the awkward: empty, flag-like, negative, not quite numbers.
const value = fc.oneof(
  fc.constantFrom('K=V', 'A', 'x=y=z', '50M', '0.5', '64', '007', '-1', '-5', '1e3', '+5', '99999999999999999999'),
  fc.constantFrom('', '-', '--', '--rm', '-i', '-x', '-it', '--bogus', '=', '=x', 'host', '/tmp', 'sh'),
  fc.string({ maxLength: 6 }),
);

const long = (f: ManifestFlag): fc.Arbitrary<string[]> =>
  f.type === 'boolean'
    ? fc.oneof(fc.constant<string[]>([`--${f.name}`]), value.map((v) => [`--${f.name}=${v}`]))
    : fc.oneof(
        value.map((v) => [`--${f.name}`, v]),
        value.map((v) => [`--${f.name}=${v}`]),
      );

const short = (f: ManifestFlag & { char: string }): fc.Arbitrary<string[]> =>
  f.type === 'boolean'
    ? fc.constant<string[]>([`-${f.char}`])
    : fc.oneof(
        value.map((v) => [`-${f.char}`, v]),
        value.map((v) => [`-${f.char}${v}`]),
        value.map((v) => [`-${f.char}=${v}`]),
      );

// `-it`, `-ite K=V`, `-xi`: letters of flags, sometimes one no flag has.
const group = fc
  .array(fc.constantFrom(...chars, 'x', 'h'), { minLength: 2, maxLength: 4 })
  .chain((letters) => value.map((v) => [`-${letters.join('')}`, v]))
  .chain((words) => fc.subarray(words, { minLength: 1 }).map((sub) => (sub[0] === words[0] ? sub : words)));

const unknown = fc.constantFrom(['--bogus'], ['--help'], ['-h'], ['--mem', '1'], ['--no-rm'], ['--e', 'x'], ['-x']);

const word = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...flags).chain(long) },
  { weight: 4, arbitrary: fc.constantFrom(...withChar).chain(short) },
  { weight: 2, arbitrary: group },
  { weight: 1, arbitrary: unknown },
  // A flag that takes a value, last, without one.
  { weight: 1, arbitrary: fc.constantFrom(...withValue).map((f) => [`--${f.name}`]) },
);

const commandLine = fc
  .tuple(
    fc.array(word, { maxLength: 6 }),
    fc.boolean(),
    fc.array(fc.constantFrom('sh', '-c', 'true', '--rm', '-it', 'x=1'), { maxLength: 3 }),
  )
  .map(([words, dashdash, command]) => [...words.flat(), ...(dashdash ? ['--'] : []), ...command]);

test('where the fast start takes a generated command line, oclif takes it too and agrees on every flag', async (t) => {
  let taken = 0;
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(commandLine, async (argv) => {
      runs += 1;
      const { options, parsed } = fast(argv);
      if (parsed === undefined) return;
      taken += 1;
      const expected = await oclif(options);
      if (expected instanceof Error) throw new Error(`the fast start took what oclif refuses (${expected.message})`);
      assert.deepEqual(expected.ignored, [], 'oclif ignores no word the fast start read');
      assert.deepEqual(parsed, expected.flags);
      assert.deepEqual(runCommand(parsed, ['true']), runCommand(expected.flags, ['true']));
    }),
    { numRuns: 3000 },
  );
  t.pass();
  // Not a property that holds by refusing everything.
  t.true(taken > runs / 20, `the fast start took ${taken} of ${runs} command lines`);
  t.log(`the fast start took ${taken} of ${runs} command lines`);
});

// Well-formed: each flag at most once (those that repeat, more), in any form, with a value that
// is no flag (nor, attached, starts with `=`, which `-e=V` reads as a separator), no -d beside
// -t or -i, and a command.
const wellFormedValue = fc.oneof(
  fc.constantFrom('K=V', 'A', '50M', '0.5', '/tmp', 'host'),
  fc.stringMatching(/^[a-z0-9/.][a-z0-9=:/.]{0,7}$/),
);
const wellFormed = fc
  .shuffledSubarray(flags.filter((f) => f.name !== 'detach'), { minLength: 0 })
  .chain((chosen) =>
    fc.tuple(
      ...chosen.map((f) => {
        const integer = f.name === 'pids-limit';
        // A flag with a fixed set of words (--pull, --tls-verify) takes one of them.
        const v = integer
          ? fc.integer({ min: -1, max: 4096 }).map(String)
          : f.options !== undefined
            ? fc.constantFrom(...f.options)
            : wellFormedValue;
        const forms = [
          f.type === 'boolean' ? fc.constant([`--${f.name}`]) : v.map((x) => [`--${f.name}`, x]),
          f.type === 'boolean' ? fc.constant([`--${f.name}`]) : v.map((x) => [`--${f.name}=${x}`]),
          ...(f.char === undefined
            ? []
            : f.type === 'boolean'
              ? [fc.constant([`-${f.char}`])]
              : [
                  v.map((x) => [`-${f.char}`, x]),
                  v.map((x) => [`-${f.char}${x}`]),
                  v.map((x) => [`-${f.char}=${x}`]),
                ]),
        ];
        const once = fc.oneof(...forms);
        return f.multiple === true ? fc.array(once, { minLength: 1, maxLength: 3 }).map((w) => w.flat()) : once;
      }),
    ),
  )
  .chain((words) =>
    fc.tuple(fc.constant(words.flat()), fc.boolean(), fc.constantFrom(['true'], ['sh', '-c', 'echo $A'], ['-x'])),
  )
  // A command that starts with `-` needs `--` before it.
  .map(([options, dashdash, command]) => [
    ...options,
    ...(dashdash || command[0]!.startsWith('-') ? ['--'] : []),
    ...command,
  ]);

test('the fast start takes every well-formed generated command line, as oclif reads it', async (t) => {
  await fc.assert(
    fc.asyncProperty(wellFormed, async (argv) => {
      const { options, parsed } = fast(argv);
      assert.ok(parsed, 'the fast start left it to oclif');
      const expected = await oclif(options);
      if (expected instanceof Error) throw new Error(`oclif refuses it: ${expected.message}`);
      assert.deepEqual(parsed, expected.flags);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
