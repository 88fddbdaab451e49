import test from 'ava';

import {
  ContainerNotFoundError,
  InternalError,
  InvalidOptionError,
  RuntimeNotFoundError,
  TscontainerError,
  fromNative,
} from '../../ts/api/errors.js';

const nativeError = (code: string, message = 'from the core') => Object.assign(new Error(message), { code });

test('native codes map one to one onto classes, keeping message and cause', (t) => {
  const cases = [
    ['ERR_TSC_INVALID_OPTION', InvalidOptionError, 125],
    ['ERR_TSC_INVALID_SPEC', InvalidOptionError, 125],
    ['ERR_TSC_INVALID_ROOTFS', InvalidOptionError, 125],
    ['ERR_TSC_RUNTIME_NOT_FOUND', RuntimeNotFoundError, 125],
    ['ERR_TSC_NOT_FOUND', ContainerNotFoundError, undefined],
    ['ERR_TSC_INTERNAL', InternalError, undefined],
  ] as const;
  for (const [code, type, exitCode] of cases) {
    const cause = nativeError(code);
    const error = fromNative(cause);
    t.true(error instanceof type, code);
    t.true(error instanceof TscontainerError);
    t.is(error.code, code);
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
