import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * Thanos's protobuf definitions (written from its field numbers, under ./proto) loaded at
 * runtime with protobufjs. From source the files sit next to this module in ./proto; in the
 * published build tsup copies them to dist/proto, next to the bundle — the same relative URL
 * resolves both.
 */
function protoDir(): string {
  const candidates = [new URL('./proto/', import.meta.url), new URL('./storeapi/proto/', import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}store/storepb/rpc.proto`)) return dir;
  }
  throw new Error(
    `thanos-ts: StoreAPI .proto files not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`,
  );
}

const PROTO_FILES = [
  'store/labelpb/types.proto',
  'store/storepb/types.proto',
  'store/storepb/rpc.proto',
  'store/hintspb/hints.proto',
  'info/infopb/rpc.proto',
];

function loadRoot(): protobuf.Root {
  const dir = protoDir();
  const root = new protobuf.Root();
  // Imports are written relative to the proto root (as in Thanos's tree); google/* comes from
  // protobufjs's bundled well-known types.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : dir + target);
  root.loadSync(PROTO_FILES, { keepCase: false });
  root.resolveAll();
  return root;
}

let cached: ThanosProtos | undefined;

/** The message types the StoreAPI gRPC server and client encode and decode. */
export interface ThanosProtos {
  root: protobuf.Root;
  SeriesRequest: protobuf.Type;
  SeriesResponse: protobuf.Type;
  LabelNamesRequest: protobuf.Type;
  LabelNamesResponse: protobuf.Type;
  LabelValuesRequest: protobuf.Type;
  LabelValuesResponse: protobuf.Type;
  StoreInfoRequest: protobuf.Type;
  StoreInfoResponse: protobuf.Type;
  InfoRequest: protobuf.Type;
  InfoResponse: protobuf.Type;
  SeriesResponseHints: protobuf.Type;
  SeriesRequestHints: protobuf.Type;
}

/** Loads (once per process) and returns Thanos's StoreAPI and Info protobuf types. */
export function thanosProtos(): ThanosProtos {
  if (cached) return cached;
  const root = loadRoot();
  cached = {
    root,
    SeriesRequest: root.lookupType('thanos.SeriesRequest'),
    SeriesResponse: root.lookupType('thanos.SeriesResponse'),
    LabelNamesRequest: root.lookupType('thanos.LabelNamesRequest'),
    LabelNamesResponse: root.lookupType('thanos.LabelNamesResponse'),
    LabelValuesRequest: root.lookupType('thanos.LabelValuesRequest'),
    LabelValuesResponse: root.lookupType('thanos.LabelValuesResponse'),
    StoreInfoRequest: root.lookupType('thanos.InfoRequest'),
    StoreInfoResponse: root.lookupType('thanos.InfoResponse'),
    InfoRequest: root.lookupType('thanos.info.InfoRequest'),
    InfoResponse: root.lookupType('thanos.info.InfoResponse'),
    SeriesResponseHints: root.lookupType('hintspb.SeriesResponseHints'),
    SeriesRequestHints: root.lookupType('hintspb.SeriesRequestHints'),
  };
  return cached;
}
