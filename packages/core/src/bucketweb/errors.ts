import { ThanosError } from '@thanos-ts/tsdb';

/** A refresh of the bucket's block metadata did not finish within `timeoutMs` (--timeout). */
export class BucketWebRefreshTimeoutError extends ThanosError {
  constructor(readonly timeoutMs: number) {
    super(
      'CORE_BUCKETWEB_REFRESH_TIMEOUT',
      `refreshing block metadata from the bucket: not done within the --timeout of ${timeoutMs}ms; raise --timeout or check the bucket`,
    );
  }
}
