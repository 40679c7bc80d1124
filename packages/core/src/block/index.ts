// @thanos-ts/core/block: uploading local blocks to a bucket as Thanos does.

export {
  calculateHash,
  fileHash,
  HASH_FUNCS,
  type HashFunc,
  type ObjectHash,
  parseHashFunc,
  withHash,
} from './hash.js';
export { type UploadBlockOptions, uploadBlock } from './upload.js';
export { type UploadTsdbBlocksOptions, uploadTsdbBlocks } from './upload-blocks.js';
