// Waiting. Async where other work may proceed (lock polls, kernel state polls); synchronous
// where the caller is itself synchronous (reading a non-blocking stdin, retrying an exec).
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
