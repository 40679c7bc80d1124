// Parser: AST, function table (owned by the parser helper).

// Engine, in-memory storage and the promqltest runner (owned by the engine helper).
export {
  createEngine,
  type Engine,
  type EngineOptions,
  MAX_POINTS_PER_SERIES,
  type QueryOptions,
} from './engine/engine.js';
export {
  EvaluationPoolClosedError,
  EvaluationQueueFullError,
  EvaluationWorkerError,
  QueryCanceledError,
  QueryEvaluationError,
  QueryTimeoutError,
  TooManyPointsError,
  TooManySamplesError,
  UnsupportedQueryError,
} from './engine/errors.js';
export {
  type DecodedSeries,
  type DecodeReport,
  type EncodedQueryable,
  type EncodedSeriesSet,
  isEncodedQueryable,
  isEncodedSeriesSet,
  type SeriesDecoder,
  type SeriesDecoderRef,
} from './engine/pool/encoded-series.js';
export {
  createEvaluationPool,
  type EvaluationPool,
  type EvaluationPoolOptions,
} from './engine/pool/evaluation-pool.js';
export type {
  Matrix,
  QueryResult,
  QueryValue,
  Sample,
  Scalar,
  Series,
  StringValue,
  Vector,
} from './engine/types.js';
export type {
  AggregateExpr,
  AggregateOp,
  ArithmeticOp,
  BinaryExpr,
  BinaryOp,
  Call,
  ComparisonOp,
  DurationExpr,
  DurationOp,
  Expr,
  ExprKind,
  FunctionDef,
  MatrixSelector,
  NumberLiteral,
  ParenExpr,
  PositionRange,
  SetOp,
  StepInvariantExpr,
  StringLiteral,
  SubqueryExpr,
  UnaryExpr,
  ValueType,
  VectorMatchCardinality,
  VectorMatching,
  VectorSelector,
} from './parser/ast.js';
export { children, exprType, inspect } from './parser/ast.js';
export { ParseError, positionString } from './parser/errors.js';
export { FUNCTIONS, getFunction } from './parser/functions.js';
export { exprToPrometheusJSON, type JsonValue } from './parser/json.js';
export { describeToken, Lexer, type Token, type TokenType } from './parser/lexer.js';
export {
  createMatcherCache,
  documentedType,
  isValidUtf8LabelName,
  MAX_NESTING,
  MAX_TREE_DEPTH,
  type MatcherCache,
  type ParseOptions,
  parseExpr,
  parseMetricSelector,
  secondsToMillis,
} from './parser/parser.js';
export { formatExpr, formatFloat, formatMatcher, prettyExpr } from './parser/printer.js';
export {
  MAX_SERIES_DESC_VALUES,
  parseMetric,
  parseSeriesDesc,
  type SequenceValue,
  type SeriesDescription,
  UnsupportedSeriesError,
} from './parser/series.js';
export { type EvalOutcome, type RunScriptOptions, runScript, type ScriptResult } from './promqltest/runner.js';
export { createMemoryStorage, type MemoryStorage, type SeriesInput } from './storage/memory.js';
