/**
 * Go's crypto/tls names, as Thanos and exporter-toolkit accept them in flags and configs, and the
 * OpenSSL names Node's TLS takes for them. One table for every place a Go name is read
 * (--http.config's web config, the receiver's --remote-write.server-tls-* flags).
 */

import type { SecureVersion } from 'node:tls';

/** TLS versions as Thanos's --*-tls-min-version flags name them. */
export const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
/** One of {@link TLS_VERSIONS}. */
export type TLSVersion = (typeof TLS_VERSIONS)[number];

/** Node's name of a TLS version (`1.0` is `TLSv1`, the others `TLSv1.x`). */
export function nodeTLSVersion(v: TLSVersion): SecureVersion {
  return v === '1.0' ? 'TLSv1' : (`TLSv${v}` as SecureVersion);
}

/**
 * Go's tls.CipherSuites() (the suites Go deems secure) by Go name, with OpenSSL's name. The three
 * TLS 1.3 suites are listed because Go accepts their names, but as in Go they cannot be turned off:
 * a cipher list limits TLS 1.2 and below.
 */
export const GO_CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** The TLS 1.3 suites (OpenSSL names), which Go always enables whatever the cipher list says. */
export const TLS13_SUITES: readonly string[] = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
];

/**
 * Go's default TLS 1.2 suites (Go 1.22+: the ECDHE suites; no RSA key exchange), as OpenSSL names.
 * A server given no list offers these, as a Go server does, rather than Node's wider default.
 */
export const GO_DEFAULT_TLS12: readonly string[] = Object.entries(GO_CIPHER_SUITES)
  .filter(([go]) => go.startsWith('TLS_ECDHE_'))
  .map(([, openssl]) => openssl);

/**
 * Curve (key exchange group) names Thanos's getCurveIDs accepts, with OpenSSL's group names (the
 * post-quantum hybrids need OpenSSL 3.5, which Node 24 bundles).
 */
export const GO_CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
  X25519MLKEM768: 'X25519MLKEM768',
  SecP256r1MLKEM768: 'SecP256r1MLKEM768',
  SecP384r1MLKEM1024: 'SecP384r1MLKEM1024',
};

/** The curves exporter-toolkit's web config accepts (`curve_preferences`), a subset of {@link GO_CURVES}. */
export const WEB_CONFIG_CURVES: readonly string[] = ['CurveP256', 'CurveP384', 'CurveP521', 'X25519'];
