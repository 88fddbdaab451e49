/**
 * A detached container's output, as its supervising runtime keeps it: `output.log` in the
 * container's bundle, rotated to `output.log.1`, `output.log.2`, ... once it reaches its size
 * limit (Docker's json-file `max-size` and `max-file`). Only read here: the runtime is the
 * only writer. Reads go file by file and chunk by chunk, so neither `tail` nor `follow` holds
 * more than a chunk in memory.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const OUTPUT_FILE = 'output.log';

const CHUNK = 64 * 1024;
/** How often a follower looks for new output. */
const FOLLOW_INTERVAL = 100;

export interface OutputOptions {
  /** Only the last N lines (default: all of them). */
  tail?: number | undefined;
}

export interface FollowOptions extends OutputOptions {
  /** Keep reading as the container writes, until it stops (default false). */
  follow?: boolean | undefined;
  /** Stops following; the iteration ends. */
  signal?: AbortSignal | undefined;
}

function size(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** The output files of the bundle at `dir`, oldest first (the current one last). */
export function outputFiles(dir: string): string[] {
  const files = [join(dir, OUTPUT_FILE)];
  for (let i = 1; size(join(dir, `${OUTPUT_FILE}.${i}`)) !== undefined; i++) files.unshift(join(dir, `${OUTPUT_FILE}.${i}`));
  return files;
}

/** Bytes [start, end) of the open file `fd`, in chunks. */
function* chunks(fd: number, start: number, end: number): Generator<Buffer> {
  for (let position = start; position < end; ) {
    const buffer = Buffer.alloc(Math.min(CHUNK, end - position));
    const n = readSync(fd, buffer, 0, buffer.length, position);
    if (n === 0) return;
    position += n;
    yield buffer.subarray(0, n);
  }
}

/**
 * Where the last `lines` lines of `files` (oldest first) begin: the file's index and the
 * offset in it. A final line without its newline counts as a line.
 */
export function tailStart(files: readonly string[], lines: number): { index: number; offset: number } {
  if (lines <= 0) return { index: files.length - 1, offset: size(files.at(-1) ?? '') ?? 0 };
  let newlines = 0;
  let last = true;
  for (let index = files.length - 1; index >= 0; index--) {
    let fd: number;
    try {
      fd = openSync(files[index]!, 'r');
    } catch {
      continue;
    }
    try {
      let end = fstatSync(fd).size;
      while (end > 0) {
        const start = Math.max(0, end - CHUNK);
        const buffer = Buffer.alloc(end - start);
        readSync(fd, buffer, 0, buffer.length, start);
        for (let i = buffer.length - 1; i >= 0; i--) {
          if (buffer[i] !== 0x0a) {
            last = false;
            continue;
          }
          // The newline that ends the very last line does not start one.
          if (last) {
            last = false;
            continue;
          }
          if (++newlines === lines) return { index, offset: start + i + 1 };
        }
        end = start;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { index: 0, offset: 0 };
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/**
 * The output of the bundle at `dir` as text, chunk by chunk: the last `tail` lines (or all),
 * then, with `follow`, whatever is written until `running()` says the container has
 * stopped and nothing more came, or `signal` aborts. Rotation while following is noticed by
 * the current file's name pointing at a new file: the old one is read to its end first.
 */
export async function* readOutput(
  dir: string,
  options: FollowOptions,
  running: () => boolean,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  const files = outputFiles(dir);
  const { index, offset } = options.tail === undefined ? { index: 0, offset: 0 } : tailStart(files, options.tail);
  // The rotated files, read to their end by descriptor (a rotation meanwhile renames them, it
  // does not change what they hold).
  for (let i = index; i < files.length - 1; i++) {
    let fd: number;
    try {
      fd = openSync(files[i]!, 'r');
    } catch {
      continue;
    }
    try {
      for (const chunk of chunks(fd, i === index ? offset : 0, fstatSync(fd).size)) yield decoder.decode(chunk, { stream: true });
    } finally {
      closeSync(fd);
    }
  }
  const current = files.at(-1)!;
  let fd: number | undefined;
  let position = index === files.length - 1 ? offset : 0;
  try {
    for (;;) {
      fd ??= openIfThere(current);
      if (fd !== undefined) {
        for (const chunk of chunks(fd, position, fstatSync(fd).size)) {
          position += chunk.length;
          yield decoder.decode(chunk, { stream: true });
        }
        // Rotated: the name now points at a new file; what was written to the old one before
        // the rename has just been read.
        const now = statOf(current);
        if (now !== undefined && now.ino !== fstatSync(fd).ino) {
          for (const chunk of chunks(fd, position, fstatSync(fd).size)) yield decoder.decode(chunk, { stream: true });
          closeSync(fd);
          fd = undefined;
          position = 0;
          continue;
        }
      }
      if (options.follow !== true || options.signal?.aborted === true) break;
      if (!running()) {
        // One last look: what the container wrote just before it stopped.
        const end = fd === undefined ? 0 : fstatSync(fd).size;
        if (end <= position) break;
        continue;
      }
      await sleep(FOLLOW_INTERVAL, options.signal);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

function openIfThere(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function statOf(path: string): { ino: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
