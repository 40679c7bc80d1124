// Downsampling: Thanos's aggregated chunks (count, sum, min, max, counter) at 5m and 1h.
export { type AggrPart, AggrType, aggrChunkPart, aggrNumSamples, CHUNK_ENC_AGGR, encodeAggrChunk } from './aggr.js';
export {
  applyCounterResets,
  currentWindow,
  downsampleAggrChunks,
  downsampleRaw,
  expandXorChunk,
  RES_LEVEL_0,
  RES_LEVEL_1,
  RES_LEVEL_1_DOWNSAMPLE_RANGE,
  RES_LEVEL_2,
  RES_LEVEL_2_DOWNSAMPLE_RANGE,
  SampleBuffer,
  targetChunkCount,
} from './aggregate.js';
export { type DownsampleBlockOptions, type DownsampledBlock, downsampleBlock } from './downsample.js';
export { DownsampleError } from './errors.js';
// Native histogram series: count, sum and counter aggregates as Thanos writes them.
export {
  downsampleHistogramAggrChunks,
  downsampleRawHistograms,
  expandHistogramChunk,
  type HistogramSample as DownsampleHistogramSample,
  isHistogramAggrChunk,
} from './histogram.js';
