// Runs one control-plane component and ties its life to the process that started this guard.
// Node cannot ask the kernel to kill a child when its parent dies, but a pipe closes when its
// writer dies, however it died: so the component is killed (SIGKILL) the moment this guard's stdin
// closes, whether the test process closed it on purpose (kill) or exited or crashed. SIGTERM to
// the guard is a graceful stop: it is passed on, and SIGKILL follows after a grace period.
// Usage: node _guard.ts <binary> [args...]; the component's output goes where the guard's goes.
import { spawn } from "node:child_process";

const GRACEFUL_STOP_MS = 5_000;

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node _guard.ts <binary> [args...]");
  process.exit(2);
}

const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
child.on("error", (error) => {
  console.error(`cannot start ${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 128 : 1));
});

const killNow = () => child.kill("SIGKILL");
process.stdin.on("end", killNow);
process.stdin.on("close", killNow);
process.stdin.on("error", killNow);
process.stdin.resume();

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    child.kill(signal);
    setTimeout(killNow, GRACEFUL_STOP_MS).unref();
  });
}
