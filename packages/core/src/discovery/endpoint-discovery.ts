import { createDNSResolver, type DNSResolver, parseAddress, resolveAddress } from './dns.js';
import { createFileSD, type FileSD } from './file-sd.js';

/** Options of `createEndpointDiscovery`. */
export interface EndpointDiscoveryOptions {
  /** Addresses from --endpoint/--store: `host:port`, `dns+host:port`, `dnssrv+name`, `dnssrvnoa+name`. */
  addresses?: readonly string[];
  /** File SD files (--store.sd-files); their targets may use the same prefixes. */
  fileSDFiles?: readonly string[];
  /** File SD re-read interval, ms (--store.sd-interval). Default 5 min. */
  fileSDInterval?: number;
  /** DNS re-resolution interval, ms (--store.sd-dns-interval). Default 30 s. */
  dnsInterval?: number;
  /** Resolver for dns+/dnssrv+ (tests point it at a local DNS server). Default: system DNS. */
  resolver?: DNSResolver;
  /** Called when a lookup or a file fails (previous results are kept). */
  onError?: (source: string, err: unknown) => void;
  /** Called when the resolved address list changes. */
  onChange?: (addresses: readonly string[]) => void;
}

/** Endpoint addresses from flags, DNS and files, kept current. */
export interface EndpointDiscovery {
  /** Resolves everything once (awaited) and starts periodic refreshes and file watches. */
  start(): Promise<void>;
  /** Re-resolves DNS names now. */
  refresh(): Promise<void>;
  /** The current resolved host:port list. */
  addresses(): string[];
  close(): void;
}

/**
 * Combines static addresses, DNS lookups and file SD into one address list, as Thanos's
 * querier does. A failed lookup keeps that name's previous answer.
 */
export function createEndpointDiscovery(opts: EndpointDiscoveryOptions): EndpointDiscovery {
  const resolver = opts.resolver ?? createDNSResolver();
  const resolved = new Map<string, string[]>();
  let fileTargets: readonly string[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let current: string[] = [];
  for (const a of opts.addresses ?? []) parseAddress(a);

  const fileSD: FileSD | undefined =
    opts.fileSDFiles && opts.fileSDFiles.length > 0
      ? createFileSD({
          files: opts.fileSDFiles,
          refreshInterval: opts.fileSDInterval,
          onChange: (t) => {
            fileTargets = t;
            void refresh();
          },
          onError: (f, err) => opts.onError?.(f, err),
        })
      : undefined;

  async function refresh(): Promise<void> {
    const wanted = [...(opts.addresses ?? []), ...fileTargets];
    await Promise.all(
      wanted.map(async (a) => {
        try {
          resolved.set(a, await resolveAddress(a, resolver));
        } catch (err) {
          opts.onError?.(a, err);
        }
      }),
    );
    for (const k of [...resolved.keys()]) if (!wanted.includes(k)) resolved.delete(k);
    const next = [...new Set(wanted.flatMap((a) => resolved.get(a) ?? []))];
    if (next.length !== current.length || next.some((x, i) => x !== current[i])) {
      current = next;
      opts.onChange?.(current);
    }
  }

  return {
    async start() {
      if (fileSD) {
        fileSD.start();
        fileTargets = fileSD.targets();
      }
      await refresh();
      timer = setInterval(() => void refresh(), opts.dnsInterval ?? 30_000);
      timer.unref?.();
    },
    refresh,
    addresses: () => [...current],
    close() {
      clearInterval(timer);
      fileSD?.close();
    },
  };
}
