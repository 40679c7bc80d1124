import { readFileSync, type Stats, statSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { type Logger, NOP_LOGGER } from '../log/logger.js';

/** Options of {@link createCertReloader}. */
export interface CertReloaderOptions {
  /** PEM certificate chain file. */
  certFile: string;
  /** PEM private key file. */
  keyFile: string;
  /**
   * The full TLS context options for a certificate and key (client CA, versions, ciphers): a
   * context built from them replaces the whole previous one, so nothing else may be left out.
   */
  contextOptions: (cert: Buffer, key: Buffer) => SecureContextOptions;
  /** Turns a failure to read or use the files at construction into the caller's error (naming its flags). */
  initialError: (file: string, err: Error) => Error;
  /** Names the server in log lines, e.g. `remote-write server`. */
  server: string;
  /** Where a failed reload is logged (once per change of the files). Default: nowhere. */
  logger?: Logger;
}

/** The TLS context currently served, and whether `check()` just replaced it. */
export interface CertState {
  readonly options: SecureContextOptions;
  readonly context: SecureContext;
  /** True when this check read new files that replaced the previous context. */
  readonly changed: boolean;
}

/**
 * A server certificate and key re-read when their files change (Thanos's pkg/tls
 * serverTLSManager.getCertificate): each `check()` stats both files and, only when either's
 * mtime, size or inode differs from the pair in use, reads them and builds a new context.
 */
export interface CertReloader {
  /**
   * The context to serve now. Cheap (two stat calls) when nothing changed; never throws. A
   * replacement that cannot be read or used (missing file, bad PEM, key not matching the
   * certificate) keeps the previous context and is logged once per change of the files (Thanos
   * fails the handshake instead); the next change is tried again.
   */
  check(): CertState;
}

/** Stat fields that tell a replaced file: mtime (Thanos's only check), size and inode (an atomic rename). */
function signature(s: Stats): string {
  return `${s.mtimeMs}:${s.size}:${s.ino}`;
}

/**
 * Reads the certificate and key once (throwing `initialError` when that fails, as a server
 * refuses to start with a bad certificate) and returns a reloader over them.
 */
export function createCertReloader(opts: CertReloaderOptions): CertReloader {
  const log = opts.logger ?? NOP_LOGGER;
  const files = (): string => `${signature(statSync(opts.certFile))}|${signature(statSync(opts.keyFile))}`;
  const load = (): { options: SecureContextOptions; context: SecureContext } => {
    const cert = readFileSync(opts.certFile);
    const key = readFileSync(opts.keyFile);
    const options = opts.contextOptions(cert, key);
    // Builds (and so validates: PEM, key matching the certificate) before anything is replaced.
    return { options, context: createSecureContext(options) };
  };

  let current: { options: SecureContextOptions; context: SecureContext };
  let sig: string;
  for (const file of [opts.certFile, opts.keyFile])
    try {
      statSync(file);
    } catch (err) {
      throw opts.initialError(file, err as Error);
    }
  try {
    // Stat before reading: a change while reading is then seen by the next check.
    sig = files();
    current = load();
  } catch (err) {
    throw opts.initialError(opts.certFile, err as Error);
  }
  let failedSig: string | undefined;

  return {
    check() {
      const keptPrevious = (err: unknown): void =>
        log.error('reload TLS certificate, keeping the previous one', {
          server: opts.server,
          cert: opts.certFile,
          key: opts.keyFile,
          err: (err as Error).message,
        });
      let now: string;
      try {
        now = files();
      } catch (err) {
        // A file missing mid-rotation: keep serving, say so once.
        now = `missing:${(err as Error).message}`;
        if (failedSig !== now) {
          failedSig = now;
          keptPrevious(err);
        }
        return { ...current, changed: false };
      }
      if (now === sig || now === failedSig) return { ...current, changed: false };
      try {
        current = load();
      } catch (err) {
        failedSig = now;
        keptPrevious(err);
        return { ...current, changed: false };
      }
      sig = now;
      failedSig = undefined;
      log.info('reloaded TLS certificate', { server: opts.server, cert: opts.certFile, key: opts.keyFile });
      return { ...current, changed: true };
    },
  };
}
