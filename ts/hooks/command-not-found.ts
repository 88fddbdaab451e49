import type { Hook } from '@oclif/core/hooks';

import { USAGE_EXIT_CODE } from '../cli/errors.js';

/** An unknown command is bad input like any other: one line, Docker's status 125. */
const hook: Hook.CommandNotFound = async function ({ config, id }) {
  const what = id.startsWith('-') ? 'flag' : 'command';
  process.stderr.write(`${config.bin}: unknown ${what} \`${id}\` (see ${config.bin} --help)\n`);
  process.exitCode = USAGE_EXIT_CODE;
};

export default hook;
