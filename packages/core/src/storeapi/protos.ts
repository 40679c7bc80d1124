import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * The first of `candidates` (URLs of folders, relative to the caller's module) that holds
 * `marker`. Thanos's protobuf definitions (written from its field numbers) sit in a `proto/`
 * folder next to the module that loads them; the published build copies every such folder into
 * dist/proto, next to the bundle, so each loader lists where that folder is seen from source, from
 * a chunk in dist/ and from an entry in dist/<subpath>/.
 */
export function findProtoDir(what: string, marker: string, candidates: readonly URL[]): string {
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}${marker}`)) return dir;
  }
  throw new Error(
    `thanos-ts: ${what} .proto files not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`,
  );
}

function protoDir(): string {
  return findProtoDir('StoreAPI', 'store/storepb/rpc.proto', [
    new URL('./proto/', import.meta.url),
    new URL('./storeapi/proto/', import.meta.url),
  ]);
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

/**
 * Loads `files` (paths relative to `dir`) on a copy of the StoreAPI's root, so another service's
 * protos import `store/*` and `info/*` types without reading or registering them twice. A copy,
 * because adding types to the StoreAPI's own root would change an object every user shares.
 */
export function loadOnStoreAPIRoot(dir: string, files: readonly string[]): protobuf.Root {
  const root = protobuf.Root.fromJSON(thanosProtos().root.toJSON());
  // store/* and info/* are already in the copied root (null skips the file); google/* comes bundled.
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('store/') || target.startsWith('info/')) return null as unknown as string;
    return target.startsWith('google/protobuf/') ? target : dir + target;
  };
  root.loadSync([...files], { keepCase: false });
  root.resolveAll();
  return root;
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects.
type Pb = any;

/**
 * A gRPC method definition (for @grpc/grpc-js's ServiceDefinition) whose messages are protobufjs
 * objects of `req` and `res`. `plainResponses` decodes responses to plain objects carrying the
 * name of the oneof that is set, so a reader can tell a data message from a warning.
 */
export function protobufMethod(
  path: string,
  req: protobuf.Type,
  res: protobuf.Type,
  opts: { responseStream: boolean; plainResponses?: boolean },
) {
  return {
    path,
    requestStream: false,
    responseStream: opts.responseStream,
    requestSerialize: (v: Pb) => Buffer.from(req.encode(v).finish()),
    requestDeserialize: (b: Buffer) => req.decode(b) as Pb,
    responseSerialize: (v: Pb) => Buffer.from(res.encode(v).finish()),
    responseDeserialize: opts.plainResponses
      ? (b: Buffer) => res.toObject(res.decode(b), { oneofs: true, defaults: false }) as Pb
      : (b: Buffer) => res.decode(b) as Pb,
  };
}
