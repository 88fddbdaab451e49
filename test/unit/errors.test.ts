import test from 'ava';

import {
  CORE_CODES,
  ImageError,
  ImageNotKnownError,
  ContainerNotFoundError,
  InternalError,
  InvalidOptionError,
  RuntimeNotFoundError,
  TscontainerError,
  fromNative,
} from '../../ts/api/errors.js';
import { callNative } from '../../ts/api/native.js';

const nativeError = (code: string, message = 'from the core') => Object.assign(new Error(message), { code });

test("the core's codes map onto classes, keeping message and cause", (t) => {
  const cases = [
    ['invalid-option', InvalidOptionError, 'ERR_TSC_INVALID_OPTION', 125],
    ['invalid-config', InvalidOptionError, 'ERR_TSC_INVALID_SPEC', 125],
    ['invalid-rootfs', InvalidOptionError, 'ERR_TSC_INVALID_ROOTFS', 125],
    ['runtime-not-found', RuntimeNotFoundError, 'ERR_TSC_RUNTIME_NOT_FOUND', 125],
    ['not-found', ContainerNotFoundError, 'ERR_TSC_NOT_FOUND', undefined],
    ['internal', InternalError, 'ERR_TSC_INTERNAL', undefined],
    ['cgroup', InternalError, 'ERR_TSC_INTERNAL', undefined],
  ] as const;
  for (const [coreCode, type, code, exitCode] of cases) {
    const cause = nativeError(coreCode);
    const error = fromNative(cause);
    t.true(error instanceof type, coreCode);
    t.true(error instanceof TscontainerError);
    t.is(error.code, code);
    t.is(error.coreCode, coreCode);
    t.is(error.exitCode, exitCode);
    t.is(error.message, 'from the core');
    t.is(error.cause, cause);
  }
});

test("napi's type errors are invalid options", (t) => {
  const error = fromNative(nativeError('StringExpected', 'Failed to convert JavaScript value'));
  t.true(error instanceof InvalidOptionError);
  t.is(error.code, 'ERR_TSC_INVALID_OPTION');
});

test('anything else is internal, and API errors pass through', (t) => {
  t.true(fromNative('a string') instanceof InternalError);
  const own = new RuntimeNotFoundError('gone');
  t.is(fromNative(own), own);
});

test("the table maps every code of the addon's vocabulary, and only those", (t) => {
  const native = callNative((addon) => addon.errorCodes());
  t.deepEqual([...CORE_CODES].sort(), [...native].sort());
});

test('image codes are image errors: their API code is ERR_TSC_ and the core code, which they keep', (t) => {
  const error = fromNative(nativeError('image-not-known', 'image debian:12 is not in the store'));
  t.true(error instanceof ImageNotKnownError);
  t.is(error.code, 'ERR_TSC_IMAGE_NOT_KNOWN');
  t.is(error.coreCode, 'image-not-known');
  const bad = fromNative(nativeError('invalid-reference'));
  t.true(bad instanceof ImageError);
  t.is(bad.code, 'ERR_TSC_INVALID_REFERENCE');
  t.is(fromNative(nativeError('canceled')).code, 'ERR_TSC_CANCELED');
});
