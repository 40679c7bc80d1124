/**
 * What the calling thread sends an evaluation worker and what comes back, with the functions on
 * both sides: `encodeTask` and `decodeReply` run on the calling thread, `runTask` in the worker.
 */
import type { Labels, SeriesSamples } from '@thanos-ts/tsdb';
import type { Call, Expr, VectorSelector } from '../../parser/ast.js';
import { QueryCanceledError, QueryTimeoutError } from '../errors.js';
import { type EvaluateInput, evaluate } from '../evaluate.js';
import { STOP_CANCELED, STOP_TIMEOUT } from '../evaluator.js';
import type { Grid, QueryResult, QueryValue } from '../types.js';
import {
  type DecodeReport,
  type EncodedSeriesSet,
  isEncodedSeriesSet,
  type SeriesDecoder,
  type SeriesDecoderRef,
} from './encoded-series.js';
import {
  type ErrorRecord,
  type PackedSeries,
  type PackJob,
  packSeries,
  recordError,
  rehydrateMatchers,
  reviveError,
  startPack,
  toCloneable,
  unpackSeries,
} from './pack.js';

/** Slots of a task's shared control array (an Int32Array over a SharedArrayBuffer). @internal */
export const CONTROL_STOP = 0;
/** Set to 1 by the worker when it starts the task (a query still queued ends as "query queue"). */
export const CONTROL_STARTED = 1;
/** Bytes of a task's control SharedArrayBuffer. */
export const CONTROL_BYTES = 8;

/** An encoded set as posted: its label sets packed, its payload as the Queryable encoded it. @internal */
export interface EncodedSetTask {
  labels: PackedSeries;
  decoder: SeriesDecoderRef;
  payload: unknown;
}

/** What the engine hands the pool: a select's series, decoded or still encoded. @internal */
export type PoolInput = Omit<EvaluateInput, 'data'> & {
  data: Map<VectorSelector, SeriesSamples[] | EncodedSeriesSet>;
};

/** One evaluation, as posted to a worker. @internal */
export interface EvaluationTask {
  /**
   * The expression, its selectors with data, and the `info()` calls with their synthetic
   * selectors, as one cloneable graph so shared nodes keep their identity across the boundary.
   */
  graph: { expr: unknown; selectors: unknown[]; infoCalls: unknown[]; infoSelectors: unknown[] };
  /** For each of `graph.selectors`, the index of its series in `sets`. */
  selectorSets: number[];
  /**
   * Fetched series, one entry per distinct Queryable result (identical selects share one):
   * packed columns, or an encoded set the worker decodes first.
   */
  sets: (PackedSeries | EncodedSetTask)[];
  grid: Grid;
  instant: boolean;
  /** The requested end of a range query (for `@ end()`), ms. */
  queryEnd?: number;
  lookbackDelta: number;
  maxSamples: number;
  noStepSubqueryInterval: number;
  deadline: number;
  /** Shared control array: `CONTROL_STOP` and `CONTROL_STARTED`. */
  control: SharedArrayBuffer;
}

/** A worker's answer: a packed result or an error record. @internal */
export type EvaluationReply =
  | {
      ok: true;
      type: QueryValue['type'];
      /** Scalar and string results. */
      t?: number;
      v?: number | string;
      /** Vector (one sample per series at `timestamps[i]`) and matrix results. */
      series?: PackedSeries;
      warnings: string[];
      infos: string[];
      /** For each of the task's `sets`: what its decoder reported (null for a packed set). */
      decoded?: (DecodeReport | null)[];
    }
  | { ok: false; error: ErrorRecord };

const NO_SAMPLES = new Float64Array(0);

/**
 * Builds the task for `input`, appending every buffer to move to `transfer`. The sample columns
 * are filled by the returned jobs (run each to completion before posting the task). `encoded`
 * lists the task's sets in order, the encoded ones by object (for their `decoded` callbacks).
 */
export function encodeTask(
  input: PoolInput,
  control: SharedArrayBuffer,
  transfer: ArrayBuffer[],
): { task: EvaluationTask; jobs: PackJob[]; encoded: (EncodedSeriesSet | null)[] } {
  const memo = new Map<object, unknown>();
  const selectors: VectorSelector[] = [...input.data.keys()];
  const infoCalls: Call[] = [...input.infoSelectors.keys()];
  const graph = {
    expr: toCloneable(input.expr, memo),
    selectors: selectors.map((s) => toCloneable(s, memo)),
    infoCalls: infoCalls.map((c) => toCloneable(c, memo)),
    infoSelectors: infoCalls.map((c) => toCloneable(input.infoSelectors.get(c), memo)),
  };
  const setIndex = new Map<SeriesSamples[] | EncodedSeriesSet, number>();
  const sets: (PackedSeries | EncodedSetTask)[] = [];
  const encoded: (EncodedSeriesSet | null)[] = [];
  const jobs: PackJob[] = [];
  const moved = new Set<ArrayBuffer>(transfer);
  const selectorSets = selectors.map((s) => {
    const list = input.data.get(s) as SeriesSamples[] | EncodedSeriesSet;
    let i = setIndex.get(list);
    if (i === undefined) {
      i = sets.length;
      setIndex.set(list, i);
      if (isEncodedSeriesSet(list)) {
        // Only the label sets are packed here; the samples move as the Queryable encoded them.
        const labels = packSeries(
          list.labels.map((l) => ({ labels: l, timestamps: NO_SAMPLES, values: NO_SAMPLES })),
          transfer,
        );
        for (const b of list.transfer) {
          if (moved.has(b)) continue;
          moved.add(b);
          transfer.push(b);
        }
        sets.push({ labels, decoder: list.decoder, payload: list.payload });
        encoded.push(list);
      } else {
        const job = startPack(list, transfer);
        jobs.push(job);
        sets.push(job.packed);
        encoded.push(null);
      }
    }
    return i;
  });
  const task: EvaluationTask = {
    graph,
    selectorSets,
    sets,
    grid: input.grid,
    instant: input.instant,
    ...(input.queryEnd === undefined ? {} : { queryEnd: input.queryEnd }),
    lookbackDelta: input.lookbackDelta,
    maxSamples: input.maxSamples,
    noStepSubqueryInterval: input.noStepSubqueryInterval,
    deadline: input.deadline,
    control,
  };
  return { task, jobs, encoded };
}

/** Whether a task's set is an encoded one. */
export function isEncodedSetTask(s: PackedSeries | EncodedSetTask): s is EncodedSetTask {
  return (s as Partial<EncodedSetTask>).decoder !== undefined;
}

/** The key a worker caches a loaded decoder under. */
export function decoderKey(ref: SeriesDecoderRef): string {
  return `${ref.module}#${ref.name}`;
}

/**
 * Runs a task in the worker and packs its result, appending buffers to move to `transfer`.
 * `decoders` holds the decoder of every encoded set (by {@link decoderKey}), loaded beforehand.
 * Nothing of the task is kept after it returns.
 */
export function runTask(
  task: EvaluationTask,
  transfer: ArrayBuffer[],
  decoders: ReadonlyMap<string, SeriesDecoder> = new Map(),
): EvaluationReply {
  const control = new Int32Array(task.control);
  Atomics.store(control, CONTROL_STARTED, 1);
  try {
    const stopFlag = (): number => Atomics.load(control, CONTROL_STOP);
    const throwIfStopped = (): void => {
      const stop = stopFlag();
      if (stop === STOP_CANCELED) throw new QueryCanceledError();
      if (stop === STOP_TIMEOUT) throw new QueryTimeoutError();
    };
    throwIfStopped();
    rehydrateMatchers(task.graph);
    const decoded: (DecodeReport | null)[] = [];
    const stopped = (): boolean => stopFlag() !== 0 || Date.now() > task.deadline;
    const sets = task.sets.map((s): SeriesSamples[] => {
      if (!isEncodedSetTask(s)) {
        decoded.push(null);
        return unpackSeries(s);
      }
      const decode = decoders.get(decoderKey(s.decoder));
      if (decode === undefined) throw new Error(`series decoder ${decoderKey(s.decoder)} was not loaded`);
      const labels: Labels[] = unpackSeries(s.labels).map((x) => x.labels);
      const out = decode(labels, s.payload, stopped);
      throwIfStopped();
      if (Date.now() > task.deadline) throw new QueryTimeoutError();
      decoded.push({ samples: out.samples, warnings: [...out.warnings] });
      return out.series;
    });
    const data = new Map<VectorSelector, SeriesSamples[]>();
    task.graph.selectors.forEach((s, i) => {
      data.set(s as VectorSelector, sets[task.selectorSets[i] as number] as SeriesSamples[]);
    });
    const infoSelectors = new Map<Call, VectorSelector>();
    task.graph.infoCalls.forEach((c, i) => {
      infoSelectors.set(c as Call, task.graph.infoSelectors[i] as VectorSelector);
    });
    const result = evaluate({
      expr: task.graph.expr as Expr,
      grid: task.grid,
      instant: task.instant,
      ...(task.queryEnd === undefined ? {} : { queryEnd: task.queryEnd }),
      data,
      infoSelectors,
      lookbackDelta: task.lookbackDelta,
      maxSamples: task.maxSamples,
      noStepSubqueryInterval: task.noStepSubqueryInterval,
      deadline: task.deadline,
      stop: control,
    });
    const reply = encodeResult(result, transfer);
    if (decoded.some((d) => d !== null) && reply.ok) reply.decoded = decoded;
    return reply;
  } catch (err) {
    return { ok: false, error: recordError(err) };
  }
}

function encodeResult(r: QueryResult, transfer: ArrayBuffer[]): EvaluationReply {
  const base = { ok: true as const, warnings: r.warnings, infos: r.infos };
  const v = r.result;
  switch (v.type) {
    case 'scalar':
    case 'string':
      return { ...base, type: v.type, t: v.t, v: v.v };
    case 'matrix':
      return {
        ...base,
        type: 'matrix',
        series: packSeries(
          v.series.map((s) => ({
            labels: s.metric,
            timestamps: s.timestamps,
            values: s.values,
            ...(s.histograms === undefined ? {} : { histograms: s.histograms }),
          })),
          transfer,
        ),
      };
    case 'vector':
      return {
        ...base,
        type: 'vector',
        series: packSeries(
          v.samples.map((s) => ({
            labels: s.metric,
            timestamps: Float64Array.of(s.t),
            values: Float64Array.of(s.f),
            // A histogram sample travels as a one-point histogram column beside its (t, f).
            ...(s.h === undefined ? {} : { histograms: { timestamps: Float64Array.of(s.t), values: [s.h] } }),
          })),
          transfer,
        ),
      };
  }
}

/** Turns a worker's reply into the query result, or throws its error. */
export function decodeReply(reply: EvaluationReply): QueryResult {
  if (!reply.ok) throw reviveError(reply.error);
  const annotations = { warnings: reply.warnings, infos: reply.infos };
  switch (reply.type) {
    case 'scalar':
      return { result: { type: 'scalar', t: reply.t as number, v: reply.v as number }, ...annotations };
    case 'string':
      return { result: { type: 'string', t: reply.t as number, v: reply.v as string }, ...annotations };
    case 'matrix':
      return {
        result: {
          type: 'matrix',
          series: unpackSeries(reply.series as PackedSeries).map((s) => ({
            metric: s.labels,
            timestamps: s.timestamps,
            values: s.values,
            ...(s.histograms === undefined ? {} : { histograms: s.histograms }),
          })),
        },
        ...annotations,
      };
    case 'vector':
      return {
        result: {
          type: 'vector',
          samples: unpackSeries(reply.series as PackedSeries).map((s) => ({
            metric: s.labels,
            t: s.timestamps[0] as number,
            f: s.values[0] as number,
            ...(s.histograms === undefined ? {} : { h: s.histograms.values[0] }),
          })),
        },
        ...annotations,
      };
  }
}
