// A hook's path must be absolute (runtime-spec): a relative one such as `sh` would be
// found through the runtime's own PATH, which can hold a directory someone else controls.
// It is refused at create, naming the hook, before anything runs or exists. (runc does not
// look it up either: it fails when the hook runs, "fork/exec sh: no such file or directory".)
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { shell, patches } from '../helpers/bundle.js';
import { execute } from '../helpers/exec.js';
import { containerTest } from '../helpers/host.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite } from '../helpers/suite.js';

const s = suite('security-hooks');

for (const kind of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const) {
  containerTest(`a ${kind} hook with a relative path is refused at create, and no program of that name runs`, async (t) => {
    // A planted `sh` first in the runtime's PATH: what a PATH lookup would run.
    const planted = await s.hostDir(t);
    const marker = path.join(planted, 'ran');
    await writeFile(path.join(planted, 'sh'), `#!/bin/sh\necho planted > ${marker}\n`);
    await chmod(path.join(planted, 'sh'), 0o755);
    const c = await s.container(
      t,
      patches(shell('true'), (config) => {
        config.hooks = { [kind]: [{ path: '/bin/true' }, { path: 'sh', args: ['sh', '-c', 'true'] }] };
      }),
    );
    const r = await execute(runtimePath(), [...c.globalFlags, 'run', '--bundle', c.bundle, c.id], {
      scratch: planted,
      env: { ...process.env, PATH: `${planted}:${process.env.PATH ?? ''}` },
    });
    t.not(r.code, 0);
    t.is(
      r.stderr.trim().split('\n').at(-1),
      `tscontainer-runtime: invalid ${kind} hook #1: its path \`sh\` is not absolute, as the runtime-spec requires`,
    );
    t.false(existsSync(marker), 'the planted program did not run');
    t.is(await c.state(), undefined, 'nothing was created');
  });
}
