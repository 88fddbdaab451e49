// Loads the tscontainer addon. Which build, in this order:
//   1. TSCONTAINER_ADDON_PATH, when set: a .node file of your own (a local build, or one for a
//      platform no package exists for); `tscontainer-runtime` is then looked for beside it,
//      or at TSCONTAINER_RUNTIME_PATH.
//   2. This checkout's own build, beside this file (`npm run build:native`).
//   3. The platform package the root package lists as an optional dependency
//      (tscontainer-linux-ARCH-gnu, one per target of package.json's napi.targets, see
//      targets.cjs): the addon and the runtime.
// Hand-written rather than napi-rs's generated loader so that every failure is one sentence
// that says what to do, not a list of every path tried.
'use strict';

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const OVERRIDE = 'TSCONTAINER_ADDON_PATH';

function fail(code, message, cause) {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  error.code = code;
  return error;
}

function firstLine(error) {
  return String(error instanceof Error ? error.message : error).split('\n')[0];
}

// Only asked once loading failed: the report is not free, and a glibc build cannot load on
// musl anyway.
function isMusl() {
  const header = process.report?.getReport?.().header;
  return header !== undefined && !header.glibcVersionRuntime;
}

// The platforms there are packages for: read only once loading failed, so a load that works
// reads nothing more.
function shipped() {
  return require('./targets.cjs').platforms();
}

function unsupported(libc) {
  const arches = shipped().map((p) => p.arch);
  const list = arches.length > 1 ? `${arches.slice(0, -1).join(', ')} or ${arches.at(-1)}` : arches.join('');
  const where = `${process.platform}${libc ? ` (${libc})` : ''} on ${process.arch}`;
  return fail(
    'ERR_TSCONTAINER_UNSUPPORTED_PLATFORM',
    `tscontainer runs on Linux with glibc on ${list}, not on ${where}` +
      ` (${OVERRIDE} can point at an addon built for it)`,
  );
}

function load() {
  const override = process.env[OVERRIDE];
  if (override) {
    try {
      return require(override);
    } catch (error) {
      throw fail('ERR_TSCONTAINER_ADDON', `${OVERRIDE} is set to ${override}, which does not load: ${firstLine(error)}`, error);
    }
  }
  if (process.platform !== 'linux') throw unsupported();

  const platform = `linux-${process.arch}-gnu`;
  const local = join(__dirname, `tscontainer.${platform}.node`);
  const pkg = `tscontainer-${platform}`;
  try {
    return require(existsSync(local) ? local : pkg);
  } catch (error) {
    const missing = error?.code === 'MODULE_NOT_FOUND' && firstLine(error).includes(`'${pkg}'`);
    if (!shipped().some((p) => p.platform === platform)) throw unsupported();
    if (isMusl()) throw unsupported('musl');
    if (missing) {
      throw fail(
        'ERR_TSCONTAINER_ADDON',
        `the platform package ${pkg} is not installed: reinstall tscontainer with optional dependencies` +
          ' (npm leaves them out with --omit=optional or --no-optional)',
        error,
      );
    }
    // An addon that is there but does not load: most often a glibc older than it needs.
    throw fail('ERR_TSCONTAINER_ADDON', `cannot load ${existsSync(local) ? local : pkg}: ${firstLine(error)}`, error);
  }
}

module.exports = load();
