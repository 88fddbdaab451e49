#!/bin/sh
":" //; [ -z "${NODE_EXTRA_CA_CERTS+set}" ] || { export TSCONTAINER_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"
// Both a shell script and CommonJS. As the `tscontainer` command, the shell line above runs
// first: it starts Node without NODE_EXTRA_CA_CERTS, which makes Node parse every root
// certificate before the first line of JavaScript (measured: 35 ms of a 60 ms start on a
// 2-core machine that sets it), although the CLI makes no TLS connection of its own
// (registries are reached by the native core: certs.d, --cert-dir, SSL_CERT_FILE and the
// system's store). The value is handed over under another name and put back below, so the
// processes the CLI starts and `-e NODE_EXTRA_CA_CERTS` see the caller's environment. To
// Node, that line is a string and a comment; `node bin/run.cjs` skips it.
//
// `tscontainer run` starts containers, so its start-up is on everyone's hot path, and a
// `pull`'s memory is mostly the process's own: a well-formed `run` or `pull` command line
// is run without loading oclif, by the fast start (ts/cli/fast-start.ts, bundled into one
// CommonJS file by npm/bundle-cli.mjs), which hands back anything it is unsure of. Every
// other command, and --help, go through oclif.
//
// CommonJS, as is the bundle: an ES module here would make Node set up its ES module
// loader before the first line runs, a cost every container start would pay.
'use strict';

const handedOver = process.env.TSCONTAINER_NODE_EXTRA_CA_CERTS;
if (handedOver !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = handedOver;
  delete process.env.TSCONTAINER_NODE_EXTRA_CA_CERTS;
}

const argv = process.argv.slice(2);
// A promise chain rather than an async function: measured, Node leaves sooner once the
// container has ended (about 1 ms).
const fast = argv[0] === 'run' || argv[0] === 'pull' ? require('../dist/cli/fast-start.cjs').fastStart(argv) : Promise.resolve(false);
void fast.then((ran) => ran || require('@oclif/core/execute').execute({ dir: __dirname }));
