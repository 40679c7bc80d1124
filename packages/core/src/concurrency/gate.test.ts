import { describe, expect, it } from 'vitest';
import { Gate } from './gate.js';

describe('query gate (--query.max-concurrent)', () => {
  it('runs at most max at once, in arrival order', async () => {
    const gate = new Gate(2);
    const order: string[] = [];
    const releases: (() => void)[] = [];
    const job = (name: string) =>
      gate.run(async () => {
        order.push(`start ${name}`);
        await new Promise<void>((r) => releases.push(r));
        order.push(`end ${name}`);
      });
    const all = [job('a'), job('b'), job('c'), job('d')];
    await new Promise((r) => setTimeout(r, 10));
    expect(gate.inFlight).toBe(2);
    expect(order).toEqual(['start a', 'start b']);
    releases.shift()?.();
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['start a', 'start b', 'end a', 'start c']);
    expect(gate.inFlight).toBe(2);
    while (releases.length > 0 || order.length < 8) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(all);
    expect(gate.inFlight).toBe(0);
  });

  it('gives up waiting when the query is cancelled', async () => {
    const gate = new Gate(1);
    let release: () => void = () => undefined;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const second = gate.run(async () => 'ran', ac.signal);
    ac.abort(new Error('cancelled while queued'));
    await expect(second).rejects.toThrow('cancelled while queued');
    release();
    await first;
    expect(await gate.run(async () => 'next')).toBe('next');
    expect(gate.inFlight).toBe(0);
  });
});
