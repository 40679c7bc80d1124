// @thanos-ts/core/discovery: endpoint addresses from flags, DNS and files.
export {
  type AddressKind,
  createDNSResolver,
  type DNSResolver,
  type DNSResolverOptions,
  parseAddress,
  resolveAddress,
} from './dns.js';
export {
  createEndpointDiscovery,
  type EndpointDiscovery,
  type EndpointDiscoveryOptions,
} from './endpoint-discovery.js';
export { createFileSD, type FileSD, type FileSDOptions, parseFileSD } from './file-sd.js';
