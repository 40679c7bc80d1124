import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { thanosProtos } from '../storeapi/protos.js';

/**
 * Thanos's Metadata, Targets and Exemplars protobuf definitions (written from its field numbers,
 * under ./proto), loaded at runtime with protobufjs on top of the StoreAPI's types (labels,
 * partial response strategy), which are taken from the StoreAPI's loaded root rather than read
 * again. From source the files sit in ./proto; in the published build they are copied into
 * dist/proto next to the StoreAPI's, where the same relative URL finds them.
 */
function protoDir(): string {
  const candidates = [
    new URL('./proto/', import.meta.url),
    new URL('./infoapis/proto/', import.meta.url),
    new URL('../proto/', import.meta.url),
  ];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}metadata/metadatapb/rpc.proto`)) return dir;
  }
  throw new Error(
    `thanos-ts: Metadata/Targets/Exemplars .proto files not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`,
  );
}

const PROTO_FILES = ['metadata/metadatapb/rpc.proto', 'targets/targetspb/rpc.proto', 'exemplars/exemplarspb/rpc.proto'];

/** The message types of Thanos's Metadata, Targets and Exemplars services. */
export interface InfoAPIProtos {
  root: protobuf.Root;
  MetricMetadataRequest: protobuf.Type;
  MetricMetadataResponse: protobuf.Type;
  TargetsRequest: protobuf.Type;
  TargetsResponse: protobuf.Type;
  ExemplarsRequest: protobuf.Type;
  ExemplarsResponse: protobuf.Type;
  /** thanos.info.InfoResponse, to read and write the metric_metadata/targets/exemplars fields. */
  InfoResponse: protobuf.Type;
}

let cached: InfoAPIProtos | undefined;

/** Loads (once per process) and returns the Metadata, Targets and Exemplars protobuf types. */
export function infoAPIProtos(): InfoAPIProtos {
  if (cached) return cached;
  const base = thanosProtos().root;
  // A copy of the StoreAPI's definitions: adding ours to its root would change a shared object.
  const root = protobuf.Root.fromJSON(base.toJSON());
  const dir = protoDir();
  // store/* is already in the copied root (null skips the file); google/* comes bundled.
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('store/') || target.startsWith('info/')) return null as unknown as string;
    return target.startsWith('google/protobuf/') ? target : dir + target;
  };
  root.loadSync(PROTO_FILES, { keepCase: false });
  root.resolveAll();
  cached = {
    root,
    MetricMetadataRequest: root.lookupType('thanos.MetricMetadataRequest'),
    MetricMetadataResponse: root.lookupType('thanos.MetricMetadataResponse'),
    TargetsRequest: root.lookupType('thanos.TargetsRequest'),
    TargetsResponse: root.lookupType('thanos.TargetsResponse'),
    ExemplarsRequest: root.lookupType('thanos.ExemplarsRequest'),
    ExemplarsResponse: root.lookupType('thanos.ExemplarsResponse'),
    InfoResponse: root.lookupType('thanos.info.InfoResponse'),
  };
  return cached;
}
