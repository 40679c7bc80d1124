import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from './programs.js';

/**
 * Where every test process takes the lock. One file for the whole machine: test files run in
 * separate processes, and several test runs (a clone beside a checkout) share the same disk.
 */
const LOCK_FILE = join(tmpdir(), 'thanos-ts-block-writers.lock');

/**
 * Runs `fn` while no other test process runs it: across processes, by an exclusive flock(1) on
 * LOCK_FILE held by a child process (the kernel drops the lock when that child dies, so a killed
 * test never leaves it taken).
 *
 * Why: promtool writes a block's chunks into a segment file it first reserves at 512 MiB
 * (fallocate), whatever the block's size, and only trims it when the block is done. Test files
 * run in parallel, so a few `create-blocks-from` at once reserve gigabytes, and on a machine with
 * little free disk they fail with "preallocate: no space left on device". One at a time they need
 * 512 MiB at most. Without flock(1) (util-linux), `fn` runs unguarded.
 */
export async function withBlockWriterLock<T>(fn: () => Promise<T>): Promise<T> {
  if (findOnPath('flock') === undefined) return fn();
  const holder = spawn('flock', ['--exclusive', LOCK_FILE, '--command', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => holder.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    holder.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('locked')) resolve();
    });
    holder.once('error', reject);
    holder.once('close', (code) => reject(new Error(`flock ${LOCK_FILE} exited with ${code} before taking the lock`)));
  });
  try {
    return await fn();
  } finally {
    holder.stdin.end(); // `cat` ends, flock releases the lock and exits
    await exited;
  }
}
