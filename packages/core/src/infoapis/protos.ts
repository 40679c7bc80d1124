import type protobuf from 'protobufjs';
import { findProtoDir, loadOnStoreAPIRoot } from '../storeapi/protos.js';

/**
 * Thanos's Metadata, Targets and Exemplars protobuf definitions (written from its field numbers,
 * under ./proto), loaded on top of the StoreAPI's types (labels, partial response strategy).
 */
function protoDir(): string {
  return findProtoDir('Metadata/Targets/Exemplars', 'metadata/metadatapb/rpc.proto', [
    new URL('./proto/', import.meta.url),
    new URL('./infoapis/proto/', import.meta.url),
    new URL('../proto/', import.meta.url),
  ]);
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
  const root = loadOnStoreAPIRoot(protoDir(), PROTO_FILES);
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
