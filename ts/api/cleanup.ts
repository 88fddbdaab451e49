/**
 * Last-chance cleanup when this process exits while containers are still being run
 * (`process.exit()` from the program, an uncaught exception): the normal paths clean up
 * after themselves, this catches the paths that never get there. Only synchronous work
 * can run at exit.
 */
const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const task of tasks) {
    try {
      task();
    } catch {
      // One failed cleanup must not keep the others from running while the process exits.
    }
  }
  tasks.clear();
}

/** Runs `task` if the process exits before the returned function is called. */
export function onExit(task: () => void): () => void {
  if (!installed) {
    process.once('exit', runAll);
    installed = true;
  }
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}
