/**
 * Failures as the CLI reports them: one line naming the thing at fault and a
 * Docker-style exit status. oclif's parse errors are read by their fields (the flags and
 * arguments at fault, the parse's own input and output), never by their text.
 */
import { CLIError } from '@oclif/core/errors';

import { apiFailure, type Failure } from './failure.js';

export type { Failure } from './failure.js';

/** Docker's status for a command line it cannot use. */
export const USAGE_EXIT_CODE = 125;

/** A flag's value that its parse refused (see flags.ts). */
export class FlagValueError extends CLIError {
  override name = 'FlagValueError';
  constructor(
    readonly flag: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid --${flag} \`${value}\`: ${reason}`);
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function argName(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null && 'name' in arg) return String(arg.name);
  return String(arg);
}

interface FlagRules {
  exclusive?: readonly string[] | undefined;
  required?: boolean | undefined;
}

/** What a parse that failed its flags' rules broke, from its own input and output. */
function brokenRule(parse: { input?: { flags?: unknown }; output?: { flags?: unknown } }): string | undefined {
  const rules = (parse.input?.flags ?? {}) as Readonly<Record<string, FlagRules>>;
  const given = (parse.output?.flags ?? {}) as Readonly<Record<string, unknown>>;
  for (const [name, rule] of Object.entries(rules)) {
    if (given[name] === undefined) {
      if (rule.required === true) return `missing flag --${name}`;
      continue;
    }
    const other = rule.exclusive?.find((flag) => given[flag] !== undefined);
    if (other !== undefined) return `--${name} cannot be used with --${other}`;
  }
  return undefined;
}

/** One sentence for an error from oclif's parser, from its fields. */
export function usageSentence(error: CLIError): string {
  if (error instanceof FlagValueError) return `invalid --${error.flag} \`${error.value}\`: ${error.reason}`;
  const details = error as CLIError & { flags?: unknown; args?: unknown; parse?: unknown };
  // Nonexistent flags carry `flags`; missing and unexpected arguments carry `args`
  // (definitions for missing ones, the words themselves for unexpected ones).
  if (Array.isArray(details.flags)) return `unknown flag ${details.flags.join(', ')}`;
  if (Array.isArray(details.args)) {
    const names = details.args.map(argName).join(' ');
    return details.args.every((arg) => typeof arg === 'string')
      ? `unexpected argument ${names}`
      : `missing argument ${names}`;
  }
  // A flag rule that failed (exclusive, required) carries the parse it judged.
  if (typeof details.parse === 'object' && details.parse !== null) {
    const broken = brokenRule(details.parse);
    if (broken !== undefined) return broken;
  }
  // oclif's own one-line errors (`Flag --memory expects a value`) say it all already.
  return lowerFirst(error.message);
}

/** How to report `error`; `exitCode` is the status for failures that carry none. */
export function failure(error: unknown, exitCode: number): Failure {
  if (error instanceof CLIError) return { message: usageSentence(error), exitCode: USAGE_EXIT_CODE };
  return apiFailure(error, exitCode);
}
