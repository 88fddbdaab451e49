/**
 * The flags that set the container process's environment, working directory and user: the
 * same for `run` (the container's first process) and `exec` (a further one).
 */
import * as Flags from '@oclif/core/flags';

export const processFlags = {
  env: Flags.string({
    char: 'e',
    description: 'set an environment variable (NAME alone copies it from here)',
    helpValue: 'NAME=VALUE',
    multiple: true,
    multipleNonGreedy: true,
  }),
  workdir: Flags.string({ char: 'w', description: 'working directory inside the container', helpValue: 'DIR' }),
  user: Flags.string({ char: 'u', description: 'user to run as', helpValue: 'UID[:GID]' }),
};
