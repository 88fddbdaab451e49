/**
 * Flags of our own where oclif's would say what is wrong only in text: a refused value is a
 * FlagValueError, whose fields name the flag and the value (oclif rewrites the message of what
 * a flag's parse throws, but keeps the error).
 */
import { custom } from '@oclif/core/flags';

import { FlagValueError } from './errors.js';

/** An integer, as oclif's `Flags.integer` reads one (`-?[0-9]+`), at least `min` if given. */
export const integer = custom<number, { min?: number }>({
  async parse(input, _context, options) {
    if (!/^-?\d+$/.test(input)) throw new FlagValueError(options.name, input, 'expected an integer');
    const value = Number.parseInt(input, 10);
    if (options.min !== undefined && value < options.min) {
      throw new FlagValueError(options.name, input, `expected an integer of at least ${options.min}`);
    }
    return value;
  },
});
