import type { ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { protobufMethod, thanosProtos } from './protos.js';
import { decodeSeriesResponse } from './series-decoder.js';
import { encodeSeriesMessage } from './series-encoder.js';

function method(path: string, req: protobuf.Type, res: protobuf.Type, responseStream: boolean) {
  return protobufMethod(path, req, res, { responseStream });
}

/** gRPC definition of `thanos.Store` over protobufjs plain objects (legacy Info included). */
export function storeServiceDefinition(): ServiceDefinition {
  const p = thanosProtos();
  return {
    Info: method('/thanos.Store/Info', p.StoreInfoRequest, p.StoreInfoResponse, false),
    // Responses are encoded and decoded by hand, straight from and into SeriesResponse objects.
    Series: {
      ...method('/thanos.Store/Series', p.SeriesRequest, p.SeriesResponse, true),
      responseSerialize: encodeSeriesMessage,
      responseDeserialize: decodeSeriesResponse,
    },
    LabelNames: method('/thanos.Store/LabelNames', p.LabelNamesRequest, p.LabelNamesResponse, false),
    LabelValues: method('/thanos.Store/LabelValues', p.LabelValuesRequest, p.LabelValuesResponse, false),
  } as ServiceDefinition;
}

/** gRPC definition of `thanos.info.Info`. */
export function infoServiceDefinition(): ServiceDefinition {
  const p = thanosProtos();
  return { Info: method('/thanos.info.Info/Info', p.InfoRequest, p.InfoResponse, false) } as ServiceDefinition;
}
