import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('writes logfmt lines at and above its level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', component: 'store', write: (l) => lines.push(l) });
    log.debug('hidden');
    log.info('block loaded', { id: '01ABC', err: new Error('a b'), n: 3, empty: '' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ts=\S+ level=info component=store msg="block loaded" id=01ABC err="a b" n=3 empty=""\n$/,
    );
  });

  it('writes one JSON object per line', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', format: 'json', component: 'query', write: (l) => lines.push(l) });
    log.info('hidden');
    log.error('endpoint down', { addr: '127.0.0.1:1', err: new Error('refused') });
    const record = JSON.parse(lines[0] as string);
    expect(record).toMatchObject({
      level: 'error',
      component: 'query',
      msg: 'endpoint down',
      addr: '127.0.0.1:1',
      err: 'refused',
    });
  });
});
