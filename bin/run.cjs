#!/usr/bin/env node
// `tscontainer run` starts containers, so its start-up is on everyone's hot path, and a
// `pull`'s memory is mostly the process's own: a well-formed `run` or `pull` command line
// is run without loading oclif, by the fast start (ts/cli/fast-start.ts, bundled into one
// CommonJS file by npm/bundle-cli.mjs), which hands back anything it is unsure of. Every
// other command, and --help, go through oclif.
//
// CommonJS, as is the bundle: an ES module here would make Node set up its ES module
// loader before the first line runs, a cost every container start would pay.
'use strict';

const argv = process.argv.slice(2);
// A promise chain rather than an async function: measured, Node leaves sooner once the
// container has ended (about 1 ms).
const fast = argv[0] === 'run' || argv[0] === 'pull' ? require('../dist/cli/fast-start.cjs').fastStart(argv) : Promise.resolve(false);
void fast.then((ran) => ran || require('@oclif/core/execute').execute({ dir: __dirname }));
