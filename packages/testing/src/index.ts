export { type RunningAlertmanager, startAlertmanager } from './alertmanager.js';
export { type RunningAzurite, startAzurite } from './azurite.js';
export { withBlockWriterLock } from './block-writer-lock.js';
export { blocksFromOpenMetrics, type GeneratedBlocks } from './blocks.js';
export { makeTestCerts } from './certs.js';
export {
  createRandom,
  formatTimestamp,
  formatValue,
  type GeneratedFamily,
  type GeneratedSeries,
  type GeneratorOptions,
  generateFamilies,
  generateOpenMetrics,
  generateSeries,
  writeOpenMetrics,
} from './generator.js';
export { startMemcached } from './memcached.js';
export { canConnect, freePort, httpOk, isListening, waitFor } from './net.js';
export { type ManagedProcess, startProcess } from './process.js';
export { e2eRequired, findOnPath, PROGRAMS, type ProgramName, programAvailable, requireProgram } from './programs.js';
export {
  PROMETHEUS_TEST_SEGMENT_SIZE_FLAG,
  type PrometheusOptions,
  type RunningPrometheus,
  startPrometheus,
} from './prometheus.js';
export { type DumpOptions, promtool } from './promtool.js';
export { startRedis } from './redis.js';
export { type RunningS3, startS3rver } from './s3.js';
export { type RunningService, startService } from './service.js';
export { makeTempDir, removeTempDir, removeUnremovedTempDirs } from './tempdir.js';
