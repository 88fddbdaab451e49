/**
 * The fast start of `tscontainer run`: the command every container start pays for.
 * Loading oclif costs more than starting the container itself, so a well-formed `run`
 * command line is parsed here, from the flag shapes oclif recorded in its manifest
 * (`oclif.manifest.json`, written at build time from the command's own flag definitions),
 * and handed to the same `runContainer()` the oclif command calls.
 *
 * Anything this parser is not sure of — `--help`, an unknown or repeated flag, a missing
 * or odd value, a flag with rules it does not apply, a stale or missing manifest — is left
 * to oclif, which parses the whole command line again and reports any error its own way.
 * So the fast start changes how quickly a valid command starts, never what it does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { runPositionals, splitCommand, type FlagShape } from './argv.js';
import { apiFailure } from './failure.js';
import { runContainer } from './run-container.js';
import { isIntegerFlag, isRunFlag, type RunFlags } from './run-options.js';

/** A flag as oclif's manifest describes it. */
export interface ManifestFlag extends FlagShape {
  name: string;
  multiple?: boolean | undefined;
  exclusive?: readonly string[] | undefined;
  options?: readonly string[] | undefined;
  allowNo?: boolean | undefined;
  [rule: string]: unknown;
}

/** The manifest entries this parser knows how to apply; a flag with any other rule goes to oclif. */
const UNDERSTOOD = new Set([
  'name',
  'type',
  'char',
  'aliases',
  'charAliases',
  'description',
  'summary',
  'helpValue',
  'helpGroup',
  'hasDynamicHelp',
  'multiple',
  'multipleNonGreedy',
  'exclusive',
  'options',
  'allowNo',
  'hidden',
]);

/** `run`'s flags from the manifest, or undefined when they cannot all be applied here. */
export function runFlagsFromManifest(manifest: unknown): Record<string, ManifestFlag> | undefined {
  type Manifest = { commands?: { run?: { flags?: Record<string, ManifestFlag> | null } } } | null | undefined;
  const flags = (manifest as Manifest)?.commands?.run?.flags;
  if (typeof flags !== 'object' || flags === null) return undefined;
  for (const flag of Object.values(flags)) {
    if (flag.allowNo === true) return undefined;
    for (const [rule, value] of Object.entries(flag)) {
      if (!UNDERSTOOD.has(rule) && value !== undefined && value !== false) return undefined;
    }
  }
  return flags;
}

type Parsed = Record<string, string | number | boolean | string[]>;

/**
 * Parses `options` (the words before the container's command) as oclif would, or
 * returns undefined wherever oclif's answer might differ or be an error.
 */
export function parseRunFlags(
  options: readonly string[],
  flags: Readonly<Record<string, ManifestFlag>>,
): Partial<RunFlags> | undefined {
  const long = new Map<string, ManifestFlag>();
  const short = new Map<string, ManifestFlag>();
  for (const [name, flag] of Object.entries(flags)) {
    for (const alias of [name, ...(flag.aliases ?? [])]) long.set(alias, flag);
    for (const char of [flag.char, ...(flag.charAliases ?? [])]) if (char !== undefined) short.set(char, flag);
  }
  const parsed: Parsed = {};
  const set = (flag: ManifestFlag, value: string | true): boolean => {
    // A flag runContainer does not map is oclif's to handle (and report).
    if (!isRunFlag(flag.name)) return false;
    const integer = isIntegerFlag(flag.name);
    if ((flag.type === 'boolean') !== (value === true)) return false;
    if (typeof value === 'string') {
      if (value === '' || (value.startsWith('-') && !integer)) return false;
      if (flag.options !== undefined && !flag.options.includes(value)) return false;
    }
    const converted = integer ? (/^-?\d+$/.test(String(value)) ? Number(value) : undefined) : value;
    if (converted === undefined) return false;
    const previous = parsed[flag.name];
    if (flag.multiple === true) {
      parsed[flag.name] = [...((previous as string[] | undefined) ?? []), String(converted)];
      return true;
    }
    if (previous !== undefined) return false;
    parsed[flag.name] = converted;
    return true;
  };

  for (let i = 0; i < options.length; i++) {
    const word = options[i]!;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const flag = long.get(eq === -1 ? word.slice(2) : word.slice(2, eq));
      if (flag === undefined) return undefined;
      if (eq !== -1) {
        if (!set(flag, word.slice(eq + 1))) return undefined;
      } else if (flag.type === 'boolean') {
        if (!set(flag, true)) return undefined;
      } else {
        const value = options[++i];
        if (value === undefined || !set(flag, value)) return undefined;
      }
    } else if (word.startsWith('-') && word.length > 1) {
      // Short flags as oclif reads them: a group of booleans (`-it`), or one flag that takes a
      // value, the rest of the word (`-eA=1`, `-e=A=1`) or else the next word. A group that
      // mixes them (`-ie A=1`) is left to oclif.
      const letters = [...word.slice(1)].map((c) => short.get(c));
      const [first] = letters;
      if (first?.type === 'option') {
        const rest = word.slice(2);
        const value = rest === '' ? options[++i] : rest.startsWith('=') ? rest.slice(1) : rest;
        if (value === undefined || !set(first, value)) return undefined;
      } else if (letters.every((f) => f?.type === 'boolean')) {
        for (const f of letters) if (!set(f!, true)) return undefined;
      } else {
        return undefined;
      }
    } else {
      return undefined;
    }
  }
  for (const name of Object.keys(parsed)) {
    if ((flags[name]?.exclusive ?? []).some((other) => parsed[other] !== undefined)) return undefined;
  }
  return parsed as Partial<RunFlags>;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Runs `tscontainer run ARGV` when the command line is one this parser is sure of, and
 * resolves to true; resolves to false, having done nothing, when oclif should take it.
 */
export async function fastRun(argv: readonly string[]): Promise<boolean> {
  // Plain paths from the module's directory rather than URLs from import.meta.url: reading
  // a file by URL, and making the URL, each cost a `run` more than the read itself.
  const packageRoot = join(import.meta.dirname, '..', '..');
  const flags = runFlagsFromManifest(readJson(join(packageRoot, 'oclif.manifest.json')));
  if (flags === undefined) return false;
  const split = splitCommand(argv, flags);
  const parsed = split.command.length === 0 ? undefined : parseRunFlags(split.options, flags);
  if (parsed === undefined) return false;
  const { image, command } = runPositionals(split, parsed.rootfs !== undefined);
  const pkg = readJson(join(packageRoot, 'package.json')) as { oclif?: { bin?: string } } | undefined;
  const bin = pkg?.oclif?.bin ?? 'tscontainer';
  const report = (message: string) => process.stderr.write(`${bin}: ${message}\n`);
  try {
    await runContainer(parsed, command, image, { log: (line) => process.stdout.write(`${line}\n`), report });
  } catch (error) {
    // As the oclif command reports it (TscontainerCommand.catch, with run's status 125).
    const { message, exitCode } = apiFailure(error, 125);
    if (message !== undefined) report(message);
    process.exitCode = exitCode;
  }
  return true;
}
