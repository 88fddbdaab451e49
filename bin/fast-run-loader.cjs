// Loads the fast start of `tscontainer run` (dist/cli/fast-run.cjs, see npm/bundle-cli.mjs)
// with the V8 code cache the build made of it (dist/cli/fast-run.cjs.cache) when there is
// one: compiling the bundle and, as they are first called, its functions costs every
// container start several milliseconds, and Node 20 keeps no cache of its own.
//
// V8 refuses a cache made by another V8 version or with other flags, and then compiles as
// usual; it tells a cache of other source only by the source's length, so a cache older
// than the bundle (a bundle edited or rebuilt after it) is not offered at all.
'use strict';

const { readFileSync, statSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'cli', 'fast-run.cjs');
const CACHE = `${BUNDLE}.cache`;

function cacheFor(bundle) {
  try {
    return statSync(CACHE).mtimeMs >= statSync(bundle).mtimeMs ? readFileSync(CACHE) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the bundle as CommonJS would and returns its exports, with the script it was
 * compiled into (for the build to make the cache from). `useCache: false` compiles it afresh.
 */
function loadFastRun({ useCache = true } = {}) {
  const source = readFileSync(BUNDLE, 'utf8');
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: BUNDLE, cachedData: useCache ? cacheFor(BUNDLE) : undefined });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { exports: module.exports, script };
}

module.exports = { BUNDLE, CACHE, loadFastRun };
