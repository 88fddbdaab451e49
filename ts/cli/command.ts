/**
 * What every tscontainer command shares: failures end as one line on stderr,
 * `tscontainer: <message>`, and a Docker-style exit status, never a stack trace.
 */
import { Command } from '@oclif/core/command';
import { ExitError } from '@oclif/core/errors';

import { failure } from './errors.js';

export abstract class TscontainerCommand extends Command {
  /** The exit status of a failure that does not carry its own. */
  protected readonly failureExitCode: number = 1;

  protected report(message: string): void {
    this.logToStderr(`${this.config.bin}: ${message}`);
  }

  /**
   * Runs `action` for each id in turn, as `docker stop a b c` does: the id of each
   * container it succeeds for is printed; each failure is reported in one line and sets
   * the exit status, and the others still run.
   */
  protected async eachContainer(ids: readonly string[], action: (id: string) => Promise<void>): Promise<void> {
    for (const id of ids) {
      try {
        await action(id);
        this.log(id);
      } catch (error) {
        const { message, exitCode } = failure(error, this.failureExitCode);
        if (message !== undefined) this.report(message);
        process.exitCode = exitCode;
      }
    }
  }

  override async catch(error: Error): Promise<void> {
    // `this.exit()` and oclif's own early exits travel as errors; they are not failures.
    if (error instanceof ExitError) throw error;
    // The failure is reported below, in one line. A parse that failed leaves `parsed` unset,
    // and oclif would add its development-mode warning (NODE_ENV=development or test) that
    // the command never parsed its arguments: two more lines on stderr.
    this.parsed = true;
    const { message, exitCode } = failure(error, this.failureExitCode);
    if (message !== undefined) this.report(message);
    process.exitCode = exitCode;
  }
}
