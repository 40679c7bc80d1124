// @thanos-ts/core/block: uploading local blocks to a bucket as Thanos does.
export { type UploadBlockOptions, uploadBlock } from './upload.js';
export { type UploadTsdbBlocksOptions, uploadTsdbBlocks } from './upload-blocks.js';
