import type { BucketHttpOptions } from '../http-agents.js';

/**
 * Options of `createAzureBucket` (the typed form of Thanos's AZURE `config:` block). Exactly one
 * way to authenticate applies, in Thanos's order: `storageConnectionString`, then
 * `storageAccountKey`, then an Azure AD credential (client secret, user-assigned or default
 * managed identity) through the optional `@azure/identity` package.
 */
export interface AzureBucketOptions {
  /** Storage account name. Required (Thanos's `storage_account`). */
  storageAccount: string;
  /** Container holding the objects. Required (Thanos's `container`). */
  container: string;
  /** Shared key of the account (Thanos's `storage_account_key`). */
  storageAccountKey?: string;
  /**
   * A full connection string (Thanos's `storage_connection_string`); when set, `storageAccount`'s
   * URL and `endpoint` are not used. This is how Thanos users point at Azurite or a SAS token:
   * `DefaultEndpointsProtocol=http;AccountName=…;AccountKey=…;BlobEndpoint=http://host:port/account;`.
   */
  storageConnectionString?: string;
  /** Blob service domain (default "blob.core.windows.net"); the URL is `https://<account>.<endpoint>/<container>`. */
  endpoint?: string;
  /** Create the container when it does not exist, on first use (default true, as Thanos). */
  createContainer?: boolean;
  /** Client ID of a user-assigned managed identity (Thanos's `user_assigned_id`). */
  userAssignedId?: string;
  /** Service principal (Thanos's `az_tenant_id`, `client_id`, `client_secret`); all three or none. */
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Timeout of one try of one request in ms (Thanos's `pipeline_config.try_timeout`; 0 = SDK default). */
  tryTimeoutMs?: number;
  /** Retries of a broken download stream from where it broke (Thanos's `reader_config.max_retry_requests`). */
  readerMaxRetries?: number;
  /** Block size of staged uploads in bytes (default 3 MiB, as Thanos's `UploadStream`). */
  blockSize?: number;
  /** Blocks staged concurrently for one object (default 4, as Thanos). */
  uploadConcurrency?: number;
  /** Entries per listing page (default and maximum 5000). Smaller pages cost more calls. */
  listPageSize?: number;
  http?: BucketHttpOptions;
}

/** Thanos's default blob service domain. */
export const DEFAULT_AZURE_ENDPOINT = 'blob.core.windows.net';
/** Thanos uploads Azure blobs in 3 MiB blocks (objstore providers/azure `Upload`). */
export const DEFAULT_AZURE_BLOCK_SIZE = 3 * 1024 * 1024;
/** Azure's largest block (4000 MiB) and most blocks per blob. */
export const MAX_AZURE_BLOCK_SIZE = 4000 * 1024 * 1024;
export const MAX_AZURE_BLOCKS = 50_000;
