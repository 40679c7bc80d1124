// @thanos-ts/tsdb/goformat: the one home of Go's and Prometheus's text formats that the project
// must reproduce byte for byte — string quoting, float formatting and durations.
export {
  DurationSyntaxError,
  formatGoDuration,
  formatPromDuration,
  parseGoDuration,
  parsePromDuration,
} from './duration.js';
export { formatGoFloat } from './float.js';
export { formatLabelsGo, goQuote, goQuoteRune, goRuneU, isRawByteEscape, utf8Length } from './quote.js';
