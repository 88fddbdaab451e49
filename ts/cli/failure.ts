/**
 * How a failure of the typed API is reported on the command line, without oclif (the
 * fast start of `run` uses it; `errors.ts` adds oclif's parse errors).
 */
import { TscontainerError } from '../api/errors.js';

export interface Failure {
  /** The line to print, or undefined when the runtime has printed it already. */
  message: string | undefined;
  exitCode: number;
}

/** How to report `error`; `exitCode` is the status for failures that carry none. */
export function apiFailure(error: unknown, exitCode: number): Failure {
  if (error instanceof TscontainerError) {
    return { message: error.reported ? undefined : error.message, exitCode: error.exitCode ?? exitCode };
  }
  return { message: error instanceof Error ? error.message : String(error), exitCode };
}
