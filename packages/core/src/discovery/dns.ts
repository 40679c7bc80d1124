import { Resolver } from 'node:dns/promises';
import { InvalidArgumentError } from '@thanos-ts/tsdb';

/** The lookups DNS discovery needs; `createDNSResolver` makes one over node:dns. */
export interface DNSResolver {
  /** IPv4 and IPv6 addresses of `host`. */
  lookupIPs(host: string): Promise<string[]>;
  /** SRV records of `name`. */
  lookupSRV(name: string): Promise<{ name: string; port: number }[]>;
}

/** Options of `createDNSResolver`. */
export interface DNSResolverOptions {
  /** DNS servers (`ip` or `ip:port`); the system's when absent. */
  servers?: readonly string[];
  /** Per-query timeout, ms. Default 5000. */
  timeout?: number;
}

/** A DNS resolver over node:dns, optionally pointed at specific servers. */
export function createDNSResolver(opts: DNSResolverOptions = {}): DNSResolver {
  const r = new Resolver({ timeout: opts.timeout ?? 5000, tries: 2 });
  if (opts.servers && opts.servers.length > 0) r.setServers([...opts.servers]);
  const noData = (err: unknown) => {
    const code = (err as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [] as string[];
    throw err;
  };
  return {
    async lookupIPs(host) {
      // An IP literal needs no lookup.
      if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':')) return [host];
      const [v4, v6] = await Promise.all([r.resolve4(host).catch(noData), r.resolve6(host).catch(noData)]);
      if (v4.length === 0 && v6.length === 0) throw new Error(`no such host ${host}`);
      return [...v4, ...v6];
    },
    async lookupSRV(name) {
      const recs = await r.resolveSrv(name);
      return recs.map((s) => ({ name: s.name, port: s.port }));
    },
  };
}

/** How an endpoint address is to be resolved (Thanos's dns provider prefixes). */
export type AddressKind = 'static' | 'dns' | 'dnssrv' | 'dnssrvnoa';

/** Splits `dns+host:port`, `dnssrv+_grpc._tcp.name`, `dnssrvnoa+name` or a plain `host:port`. */
export function parseAddress(address: string): { kind: AddressKind; target: string } {
  const m = /^(dns|dnssrv|dnssrvnoa)\+(.+)$/.exec(address);
  if (!m) return { kind: 'static', target: address };
  const kind = m[1] as AddressKind;
  const target = m[2] as string;
  if (kind === 'dns' && !/:\d+$/.test(target)) {
    throw new InvalidArgumentError(`missing port in address given for dns+ lookup: ${JSON.stringify(address)}`);
  }
  return { kind, target };
}

function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Resolves one address: `dns+` looks up A/AAAA and keeps the port; `dnssrv+` looks up SRV
 * records and then each target's A/AAAA with the record's port; `dnssrvnoa+` uses SRV targets
 * as they are. Plain addresses are returned unchanged.
 */
export async function resolveAddress(address: string, resolver: DNSResolver): Promise<string[]> {
  const { kind, target } = parseAddress(address);
  switch (kind) {
    case 'static':
      return [target];
    case 'dns': {
      const i = target.lastIndexOf(':');
      const host = target.slice(0, i).replace(/^\[|\]$/g, '');
      const port = target.slice(i + 1);
      return (await resolver.lookupIPs(host)).map((ip) => joinHostPort(ip, port));
    }
    case 'dnssrv': {
      const out: string[] = [];
      for (const srv of await resolver.lookupSRV(target)) {
        for (const ip of await resolver.lookupIPs(srv.name)) out.push(joinHostPort(ip, srv.port));
      }
      return out;
    }
    case 'dnssrvnoa':
      return (await resolver.lookupSRV(target)).map((s) => joinHostPort(s.name.replace(/\.$/, ''), s.port));
  }
}
