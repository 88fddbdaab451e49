#!/usr/bin/env node
// `tscontainer run` starts containers, so its start-up is on everyone's hot path: a
// well-formed `run` command line is run without loading oclif (dist/cli/fast-run.js,
// which hands back anything it is unsure of). Every other command, and --help, go
// through oclif.
const argv = process.argv.slice(2);
const ran = argv[0] === 'run' && (await (await import('../dist/cli/fast-run.js')).fastRun(argv.slice(1)));
if (!ran) {
  const { execute } = await import('@oclif/core/execute');
  await execute({ dir: import.meta.url });
}
