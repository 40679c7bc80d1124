/**
 * Parse errors with Prometheus's positions (line:col in UTF-8 bytes).
 */
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { utf8Length } from '@thanos-ts/tsdb/goformat';
import type { PositionRange } from './ast.js';

/**
 * A query that cannot be parsed or does not type-check. `message` has Prometheus's exact form,
 * `<line>:<col>: parse error: <detail>` (column counted in UTF-8 bytes, like Prometheus), so it
 * can be returned verbatim by the HTTP API. `detail` is the bare reason, `pos` the offending
 * range as string offsets into `query`.
 */
export class ParseError extends InvalidArgumentError {
  override readonly code = 'PROMQL_PARSE';

  constructor(
    readonly detail: string,
    readonly pos: PositionRange,
    readonly query: string,
    /** Added to the reported line number (when the query is embedded in a larger file). */
    readonly lineOffset = 0,
  ) {
    super(`${positionString(query, pos.start, lineOffset)}: parse error: ${detail}`);
  }
}

/**
 * Prometheus's `line:col` of a position (both 1-based; col in UTF-8 bytes from the line start),
 * or "unknown position" / "invalid position" like `posrange.StartPosInput`.
 */
export function positionString(query: string, pos: number, lineOffset = 0): string {
  if (query === '') return 'unknown position';
  if (pos < 0 || pos > query.length) return 'invalid position';
  let line = lineOffset + 1;
  let lastBreak = -1;
  for (let i = 0; i < pos; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${utf8Length(query, lastBreak + 1, pos) + 1}`;
}
