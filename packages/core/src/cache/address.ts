import { InvalidArgumentError } from '@thanos-ts/tsdb';

/** Splits a cache server address `host:port` (brackets allowed around IPv6 hosts); throws on anything else. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
    throw new InvalidArgumentError(`invalid cache address ${JSON.stringify(addr)} (want host:port)`);
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port };
}
