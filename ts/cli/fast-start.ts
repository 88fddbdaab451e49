/**
 * The fast start of `tscontainer run` and `tscontainer pull`: the command every container
 * start pays for, and the one whose memory is measured against podman's and containerd's.
 * Loading oclif costs more than starting the container itself (and about 14 MiB), so a
 * well-formed command line is parsed here, from the flag shapes oclif recorded in its
 * manifest (`oclif.manifest.json`, written at build time from the commands' own flag
 * definitions), and handed to the same function the oclif command calls (`runContainer()`,
 * `pullImage()`).
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
import { pullImage, type PullFlags } from './pull-image.js';
import { normalizeTlsVerify } from './registry-options.js';
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
  'env',
]);

/** A command's flags from the manifest, or undefined when they cannot all be applied here. */
export function flagsFromManifest(manifest: unknown, command: string): Record<string, ManifestFlag> | undefined {
  type Manifest = { commands?: Record<string, { flags?: Record<string, ManifestFlag> | null } | undefined> } | null | undefined;
  const flags = (manifest as Manifest)?.commands?.[command]?.flags;
  if (typeof flags !== 'object' || flags === null) return undefined;
  for (const flag of Object.values(flags)) {
    // oclif reads a boolean's variable as a truthy word: not worth repeating here.
    if (flag.env !== undefined && flag.type !== 'option') return undefined;
    for (const [rule, value] of Object.entries(flag)) {
      if (!UNDERSTOOD.has(rule) && value !== undefined && value !== false) return undefined;
    }
  }
  return flags;
}

/** `run`'s flags from the manifest, or undefined when they cannot all be applied here. */
export function runFlagsFromManifest(manifest: unknown): Record<string, ManifestFlag> | undefined {
  return flagsFromManifest(manifest, 'run');
}

/** Which flags a command's fast start maps, and which of them are integers. */
export interface FlagKinds {
  maps(flag: string): boolean;
  integer(flag: string): boolean;
}

const RUN_KINDS: FlagKinds = { maps: isRunFlag, integer: isIntegerFlag };

type Parsed = Record<string, string | number | boolean | string[]>;
type Value = string | boolean;

/**
 * Parses `options` (the words before the container's command) as oclif would, or
 * returns undefined wherever oclif's answer might differ or be an error.
 */
export function parseRunFlags(
  options: readonly string[],
  flags: Readonly<Record<string, ManifestFlag>>,
): Partial<RunFlags> | undefined {
  return parseFlags(options, flags, RUN_KINDS) as Partial<RunFlags> | undefined;
}

/** parseRunFlags for any command: `kinds` says which flags it maps. */
export function parseFlags(options: readonly string[], flags: Readonly<Record<string, ManifestFlag>>, kinds: FlagKinds): Parsed | undefined {
  const long = new Map<string, ManifestFlag>();
  const short = new Map<string, ManifestFlag>();
  for (const [name, flag] of Object.entries(flags)) {
    for (const alias of [name, ...(flag.aliases ?? [])]) long.set(alias, flag);
    for (const char of [flag.char, ...(flag.charAliases ?? [])]) if (char !== undefined) short.set(char, flag);
  }
  const parsed: Parsed = {};
  const set = (flag: ManifestFlag, value: Value): boolean => {
    // A flag the command's function does not map is oclif's to handle (and report).
    if (!kinds.maps(flag.name)) return false;
    const integer = kinds.integer(flag.name);
    if ((flag.type === 'boolean') !== (typeof value === 'boolean')) return false;
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
    const negated = word.startsWith('--no-') ? long.get(word.slice(5)) : undefined;
    if (negated?.allowNo === true && negated.type === 'boolean' && !long.has(word.slice(2))) {
      if (!set(negated, false)) return undefined;
    } else if (word.startsWith('--')) {
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
  for (const flag of Object.values(flags)) {
    // As oclif: a flag not given takes its variable's value, when that is set.
    const fromEnv = typeof flag.env === 'string' ? process.env[flag.env] : undefined;
    if (parsed[flag.name] !== undefined || fromEnv === undefined) continue;
    if (fromEnv === '' || !set(flag, fromEnv)) return undefined;
  }
  for (const name of Object.keys(parsed)) {
    if ((flags[name]?.exclusive ?? []).some((other) => parsed[other] !== undefined)) return undefined;
  }
  return parsed;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** What a fast start needs of the package: its manifest and the program's name. */
interface Package {
  manifest: unknown;
  bin: string;
}

function readPackage(): Package {
  // Plain paths from the module's directory rather than URLs from import.meta.url: reading
  // a file by URL, and making the URL, each cost a `run` more than the read itself.
  const packageRoot = join(import.meta.dirname, '..', '..');
  const pkg = readJson(join(packageRoot, 'package.json')) as { oclif?: { bin?: string } } | undefined;
  return { manifest: readJson(join(packageRoot, 'oclif.manifest.json')), bin: pkg?.oclif?.bin ?? 'tscontainer' };
}

/** Runs a parsed command as its oclif command would, reporting a failure as it does. */
async function perform(bin: string, work: (report: (message: string) => void) => Promise<void>, failureExitCode: number): Promise<true> {
  const report = (message: string) => process.stderr.write(`${bin}: ${message}\n`);
  try {
    await work(report);
  } catch (error) {
    // As TscontainerCommand.catch reports it, with the command's status.
    const { message, exitCode } = apiFailure(error, failureExitCode);
    if (message !== undefined) report(message);
    process.exitCode = exitCode;
  }
  return true;
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Runs `tscontainer run ARGV` when the command line is one this parser is sure of, and
 * resolves to true; resolves to false, having done nothing, when oclif should take it.
 */
export async function fastRun(argv: readonly string[], pkg: Package = readPackage()): Promise<boolean> {
  const flags = runFlagsFromManifest(pkg.manifest);
  if (flags === undefined) return false;
  const split = splitCommand(argv, flags);
  const parsed = split.command.length === 0 ? undefined : parseRunFlags(split.options, flags);
  if (parsed === undefined) return false;
  const { image, command } = runPositionals(split, parsed.rootfs !== undefined);
  return perform(pkg.bin, (report) => runContainer(parsed, command, image, { log, report }), 125);
}

/** The flags pullImage() maps: every flag of `pull` but --help. */
const PULL_KINDS: FlagKinds = {
  maps: (flag) => ['quiet', 'platform', 'tls-verify', 'cert-dir', 'authfile', 'storage-root'].includes(flag),
  integer: () => false,
};

/**
 * `pull [FLAGS] REF` (flags before the reference) as oclif would read it, or undefined
 * wherever its answer might differ or be an error.
 */
export function parsePull(argv: readonly string[], flags: Readonly<Record<string, ManifestFlag>>): { ref: string; flags: PullFlags } | undefined {
  let words: string[];
  try {
    words = normalizeTlsVerify(argv);
  } catch {
    return undefined;
  }
  const split = splitCommand(words, flags);
  if (split.dashed || split.command.length !== 1) return undefined;
  const parsed = parseFlags(split.options, flags, PULL_KINDS);
  return parsed === undefined ? undefined : { ref: split.command[0]!, flags: parsed as PullFlags };
}

/** `tscontainer pull ARGV` as fastRun does `run`. */
export async function fastPull(argv: readonly string[], pkg: Package = readPackage()): Promise<boolean> {
  const flags = flagsFromManifest(pkg.manifest, 'pull');
  const command = flags === undefined ? undefined : parsePull(argv, flags);
  if (command === undefined) return false;
  return perform(pkg.bin, () => pullImage(command.ref, command.flags, log), 125);
}

/** The fast start of `bin/run.cjs`: `run` and `pull`; false for everything else. */
export function fastStart(argv: readonly string[]): Promise<boolean> {
  const [command, ...rest] = argv;
  if (command === 'run') return fastRun(rest);
  if (command === 'pull') return fastPull(rest);
  return Promise.resolve(false);
}
