// `run()` in a process of its own, for tests whose attack could hang or exhaust the process
// that calls it (a hostile rootfs read by the API): the test runs this under a memory limit
// and a timeout. Usage: node --import tsx api-run.ts '<RunOptions as JSON>' TMPDIR, where
// TMPDIR is where run() writes its bundle (tsx keeps its cache in the caller's). Prints one
// JSON line: {"result": …, "stdout": …} or {"error": {"name", "code", "exitCode", "message"}}.
import { run, TscontainerError, type RunOptions } from '../../../ts/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as RunOptions;
if (process.argv[3] !== undefined) process.env['TMPDIR'] = process.argv[3];
let stdout = '';
try {
  const container = run({ ...options, stdio: 'pipe' });
  container.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const result = await container;
  console.log(JSON.stringify({ result, stdout }));
} catch (e) {
  const error = e as Error;
  console.log(
    JSON.stringify({
      error: {
        name: error.name,
        code: e instanceof TscontainerError ? e.code : undefined,
        exitCode: e instanceof TscontainerError ? e.exitCode : undefined,
        message: error.message,
      },
    }),
  );
}
