import { ThanosError } from '../errors.js';

/**
 * A block cannot be downsampled: overlapping chunks within a series, an encoding downsampling does
 * not handle, or a target resolution not lower than the block's. `block` is the input's ULID.
 */
export class DownsampleError extends ThanosError {
  constructor(
    readonly block: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('TSDB_DOWNSAMPLE', `downsample block ${block}: ${detail}`, options);
  }
}
