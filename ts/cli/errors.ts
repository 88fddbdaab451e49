/**
 * Failures as the CLI reports them: one line naming the thing at fault and a
 * Docker-style exit status. oclif's own parse errors span several lines (a list, a
 * hint to use --help); they are folded into one sentence here.
 */
import { CLIError } from '@oclif/core/errors';

import { apiFailure, type Failure } from './failure.js';

export type { Failure } from './failure.js';

/** Docker's status for a command line it cannot use. */
export const USAGE_EXIT_CODE = 125;

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function plainLines(text: string): string[] {
  // oclif dims parts of its messages with ANSI colour codes.
  const plain = text.replaceAll(/\u001B\[[\d;]*m/g, '');
  return plain
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('See more help with'));
}

function argName(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null && 'name' in arg) return String(arg.name);
  return String(arg);
}

/** One sentence for an error from oclif's parser. */
export function usageSentence(error: CLIError): string {
  const details = error as CLIError & { flags?: unknown; args?: unknown };
  // Nonexistent flags carry `flags`; missing and unexpected arguments carry `args`
  // (definitions for missing ones, the words themselves for unexpected ones).
  if (Array.isArray(details.flags)) return `unknown flag ${details.flags.join(', ')}`;
  if (Array.isArray(details.args)) {
    const names = details.args.map(argName).join(' ');
    return details.args.every((arg) => typeof arg === 'string')
      ? `unexpected argument ${names}`
      : `missing argument ${names}`;
  }
  const [first = error.message, ...rest] = plainLines(error.message);
  const parsing = /^Parsing (--\S+)$/.exec(first);
  if (parsing !== null && rest.length > 0) return `invalid ${parsing[1]}: ${lowerFirst(rest.join('; '))}`;
  if (/^The following errors? occurred:$/.test(first) && rest.length > 0) return lowerFirst(rest.join('; '));
  return lowerFirst([first, ...rest].join('; '));
}

/** How to report `error`; `exitCode` is the status for failures that carry none. */
export function failure(error: unknown, exitCode: number): Failure {
  if (error instanceof CLIError) return { message: usageSentence(error), exitCode: USAGE_EXIT_CODE };
  return apiFailure(error, exitCode);
}
