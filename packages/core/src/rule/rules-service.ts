import {
  Client,
  type ClientReadableStream,
  Metadata,
  type Server,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { Labels } from '@thanos-ts/tsdb';
import { formatGoFloat } from '@thanos-ts/tsdb/goformat';
import type protobuf from 'protobufjs';
import { StoreAPIError } from '../storeapi/errors.js';
import { findProtoDir, loadOnStoreAPIRoot, protobufMethod } from '../storeapi/protos.js';
import { infoServiceDefinition } from '../storeapi/services.js';
import { type GrpcClientTLSOptions, grpcClientCredentials } from '../tls/grpc-tls.js';
import type { RuleGroup } from './group.js';
import type { RulePartialResponseStrategy } from './rule-file.js';
import { AlertingRule } from './rules.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects.
type Pb = any;

/** Which rules a Rules request asks for (rulespb.RulesRequest.Type). */
export type RulesRequestType = 'ALL' | 'ALERT' | 'RECORD';

/** Thanos's `thanos.RulesRequest`. */
export interface RulesRequest {
  /** Default 'ALL'. Groups are returned even when the filter leaves them empty, as Thanos does. */
  type?: RulesRequestType;
  /** What a fan-out does when an endpoint fails: 'ABORT' fails the call, 'WARN' adds a warning. Default 'WARN'. */
  partialResponseStrategy?: RulePartialResponseStrategy;
  /** Series selectors (`match[]`) the rules' non-templated labels must match; applied by the fan-out. */
  matchers?: readonly string[];
  /** Keep only rules of these names (`rule_name[]`). */
  ruleNames?: readonly string[];
  /** Keep only groups of these names (`rule_group[]`). */
  ruleGroups?: readonly string[];
  /** Keep only groups of these files (`file[]`). */
  files?: readonly string[];
}

/** Alert state as rulespb.AlertState, lowercased as its JSON is. */
export type RulesAlertState = 'unknown' | 'inactive' | 'pending' | 'firing';

/** rulespb.AlertInstance: one active alert of an alerting rule. */
export interface RulesAlertInstance {
  labels: Labels;
  annotations: Labels;
  state: RulesAlertState;
  /** ms since the epoch; undefined when unset. */
  activeAt?: number;
  /** The sample value, formatted as Go's strconv.FormatFloat(v, 'e', -1, 64). */
  value: string;
  partialResponseStrategy: RulePartialResponseStrategy;
}

interface RuleCommon {
  name: string;
  query: string;
  /** Rule labels with the ruler's external labels added. */
  labels: Labels;
  health: string;
  /** '' when none. */
  lastError: string;
  /** Seconds. */
  evaluationTime: number;
  /** ms since the epoch; 0 when never evaluated (Go's zero time on the wire). */
  lastEvaluation: number;
}

/** rulespb.RecordingRule. */
export interface RulesRecordingRule extends RuleCommon {
  type: 'recording';
}

/** rulespb.Alert: an alerting rule with its active alerts. */
export interface RulesAlertingRule extends RuleCommon {
  type: 'alerting';
  state: RulesAlertState;
  /** `for`, seconds. */
  duration: number;
  /** `keep_firing_for`, seconds. */
  keepFiringFor: number;
  annotations: Labels;
  alerts: RulesAlertInstance[];
}

/** rulespb.Rule. */
export type RulesRule = RulesRecordingRule | RulesAlertingRule;

/** rulespb.RuleGroup. */
export interface RulesGroup {
  name: string;
  file: string;
  rules: RulesRule[];
  /** Seconds. */
  interval: number;
  /** Seconds. */
  evaluationTime: number;
  /** ms since the epoch; 0 when never evaluated. */
  lastEvaluation: number;
  limit: number;
  partialResponseStrategy: RulePartialResponseStrategy;
}

/** One message of the Rules stream: a group or a warning. */
export type RulesResponse = { group: RulesGroup } | { warning: string };

// ---------------------------------------------------------------------------------------------
// Protobuf types: rules/rulespb/rpc.proto next to this module, its imports from the StoreAPI protos.

function rulesProtoDir(): string {
  return findProtoDir('Rules', 'rules/rulespb/rpc.proto', [
    new URL('./proto/', import.meta.url),
    new URL('../proto/', import.meta.url),
    new URL('./rule/proto/', import.meta.url),
  ]);
}

interface RulesProtos {
  RulesRequest: protobuf.Type;
  RulesResponse: protobuf.Type;
}

let cached: RulesProtos | undefined;

function rulesProtos(): RulesProtos {
  if (cached) return cached;
  const root = loadOnStoreAPIRoot(rulesProtoDir(), ['rules/rulespb/rpc.proto']);
  cached = {
    RulesRequest: root.lookupType('thanos.RulesRequest'),
    RulesResponse: root.lookupType('thanos.RulesResponse'),
  };
  return cached;
}

function method(path: string, req: protobuf.Type, res: protobuf.Type) {
  return protobufMethod(path, req, res, { responseStream: true });
}

/** gRPC definition of Thanos's `thanos.Rules` service over protobufjs plain objects. */
export function rulesServiceDefinition(): ServiceDefinition {
  const p = rulesProtos();
  return { Rules: method('/thanos.Rules/Rules', p.RulesRequest, p.RulesResponse) } as ServiceDefinition;
}

// ---------------------------------------------------------------------------------------------
// Conversions.

const TYPES: RulesRequestType[] = ['ALL', 'ALERT', 'RECORD'];
const STATES: RulesAlertState[] = ['unknown', 'inactive', 'pending', 'firing'];
const STRATEGIES: RulePartialResponseStrategy[] = ['WARN', 'ABORT'];
/** Go's zero time.Time in Unix seconds: what Thanos sends for a rule never evaluated. */
const GO_ZERO_SECONDS = -62_135_596_800;

function timestampToPb(ms: number | undefined): Pb {
  if (ms === undefined) return undefined;
  if (ms === 0) return { seconds: GO_ZERO_SECONDS, nanos: 0 };
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** An int64 as protobufjs decodes it (a number, or a Long when the long package is present). */
function int64(v: Pb): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'object' && typeof v.toNumber === 'function' ? v.toNumber() : Number(v);
}

function timestampFromPb(t: Pb): number | undefined {
  if (!t) return undefined;
  const seconds = int64(t.seconds);
  if (seconds <= GO_ZERO_SECONDS) return 0;
  return seconds * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6);
}

function labelsToPb(l: Labels): Pb {
  return { labels: [...l].map(({ name, value }) => ({ name, value })) };
}

function labelsFromPb(z: Pb): Labels {
  const rec: Record<string, string> = {};
  for (const l of z?.labels ?? []) rec[l.name] = l.value;
  return Labels.from(rec);
}

const strategyToPb = (s: RulePartialResponseStrategy) => STRATEGIES.indexOf(s);
const strategyFromPb = (n: Pb): RulePartialResponseStrategy => STRATEGIES[Number(n ?? 0)] ?? 'WARN';

/** RulesRequest as rulespb.RulesRequest. */
export function rulesRequestToPb(r: RulesRequest): Pb {
  return {
    type: TYPES.indexOf(r.type ?? 'ALL'),
    partialResponseStrategy: strategyToPb(r.partialResponseStrategy ?? 'WARN'),
    matcherString: [...(r.matchers ?? [])],
    ruleName: [...(r.ruleNames ?? [])],
    ruleGroup: [...(r.ruleGroups ?? [])],
    file: [...(r.files ?? [])],
  };
}

/** rulespb.RulesRequest as RulesRequest. */
export function rulesRequestFromPb(p: Pb): RulesRequest {
  return {
    type: TYPES[Number(p?.type ?? 0)] ?? 'ALL',
    partialResponseStrategy: strategyFromPb(p?.partialResponseStrategy),
    matchers: p?.matcherString ?? [],
    ruleNames: p?.ruleName ?? [],
    ruleGroups: p?.ruleGroup ?? [],
    files: p?.file ?? [],
  };
}

function ruleToPb(r: RulesRule): Pb {
  const common = {
    name: r.name,
    query: r.query,
    labels: labelsToPb(r.labels),
    health: r.health,
    lastError: r.lastError,
    evaluationDurationSeconds: r.evaluationTime,
    lastEvaluation: timestampToPb(r.lastEvaluation),
  };
  if (r.type === 'recording') return { recording: common };
  return {
    alert: {
      ...common,
      state: STATES.indexOf(r.state),
      durationSeconds: r.duration,
      keepFiringForSeconds: r.keepFiringFor,
      annotations: labelsToPb(r.annotations),
      alerts: r.alerts.map((a) => ({
        labels: labelsToPb(a.labels),
        annotations: labelsToPb(a.annotations),
        state: STATES.indexOf(a.state),
        activeAt: timestampToPb(a.activeAt),
        value: a.value,
        PartialResponseStrategy: strategyToPb(a.partialResponseStrategy),
      })),
    },
  };
}

function ruleFromPb(p: Pb): RulesRule | undefined {
  const x = p.recording ?? p.alert;
  if (!x) return undefined;
  const common = {
    name: x.name ?? '',
    query: x.query ?? '',
    labels: labelsFromPb(x.labels),
    health: x.health ?? '',
    lastError: x.lastError ?? '',
    evaluationTime: x.evaluationDurationSeconds ?? 0,
    lastEvaluation: timestampFromPb(x.lastEvaluation) ?? 0,
  };
  if (p.recording) return { type: 'recording', ...common };
  return {
    type: 'alerting',
    ...common,
    state: STATES[Number(x.state ?? 0)] ?? 'unknown',
    duration: x.durationSeconds ?? 0,
    keepFiringFor: x.keepFiringForSeconds ?? 0,
    annotations: labelsFromPb(x.annotations),
    alerts: (x.alerts ?? []).map((a: Pb) => {
      const activeAt = timestampFromPb(a.activeAt);
      return {
        labels: labelsFromPb(a.labels),
        annotations: labelsFromPb(a.annotations),
        state: STATES[Number(a.state ?? 0)] ?? 'unknown',
        ...(activeAt !== undefined ? { activeAt } : {}),
        value: a.value ?? '',
        partialResponseStrategy: strategyFromPb(a.PartialResponseStrategy),
      };
    }),
  };
}

/** RulesGroup as rulespb.RuleGroup. */
export function ruleGroupToPb(g: RulesGroup): Pb {
  return {
    name: g.name,
    file: g.file,
    rules: g.rules.map(ruleToPb),
    interval: g.interval,
    evaluationDurationSeconds: g.evaluationTime,
    lastEvaluation: timestampToPb(g.lastEvaluation),
    PartialResponseStrategy: strategyToPb(g.partialResponseStrategy),
    limit: g.limit,
  };
}

/** rulespb.RuleGroup as RulesGroup. */
export function ruleGroupFromPb(p: Pb): RulesGroup {
  return {
    name: p.name ?? '',
    file: p.file ?? '',
    rules: (p.rules ?? []).flatMap((r: Pb) => ruleFromPb(r) ?? []),
    interval: p.interval ?? 0,
    evaluationTime: p.evaluationDurationSeconds ?? 0,
    lastEvaluation: timestampFromPb(p.lastEvaluation) ?? 0,
    limit: int64(p.limit),
    partialResponseStrategy: strategyFromPb(p.PartialResponseStrategy),
  };
}

/**
 * The ruler's groups as Thanos's Manager.Rules answers: every group, rules filtered by `type`
 * (groups left empty are kept), rule labels extended with the external labels.
 */
export function rulerRuleGroups(
  groups: readonly RuleGroup[],
  externalLabels: Record<string, string>,
  type: RulesRequestType = 'ALL',
): RulesGroup[] {
  return groups.map((g) => {
    const strategy = g.cfg.partialResponseStrategy;
    const rules: RulesRule[] = [];
    for (const r of g.rules) {
      const alerting = r instanceof AlertingRule;
      if ((type === 'ALERT' && !alerting) || (type === 'RECORD' && alerting)) continue;
      let labels = r.labels;
      // ExtendSortedLabels: external labels win over rule labels of the same name.
      for (const [k, v] of Object.entries(externalLabels)) labels = labels.with(k, v);
      const common = {
        name: r.name,
        query: r.query,
        labels,
        health: r.health,
        lastError: r.lastError?.message ?? '',
        evaluationTime: r.evaluationTimeMs / 1000,
        lastEvaluation: r.lastEvaluation,
      };
      if (!(r instanceof AlertingRule)) {
        rules.push({ type: 'recording', ...common });
        continue;
      }
      rules.push({
        type: 'alerting',
        ...common,
        state: r.state,
        duration: r.cfg.forMs / 1000,
        keepFiringFor: r.cfg.keepFiringForMs / 1000,
        annotations: Labels.from(r.cfg.annotations),
        alerts: r.activeAlerts().map((a) => ({
          labels: a.labels,
          annotations: a.annotations,
          state: a.state,
          activeAt: a.activeAt,
          value: formatGoFloat(a.value, 'e'),
          partialResponseStrategy: strategy,
        })),
      });
    }
    return {
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      evaluationTime: g.evaluationTimeMs / 1000,
      lastEvaluation: g.lastEvaluation,
      limit: g.cfg.limit,
      partialResponseStrategy: strategy,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Server and client.

/**
 * Serves `groups` as Thanos's `thanos.Rules/Rules` on `server`: one message per group, as the
 * ruler's Manager.Rules streams them. `groups` is called per request with the requested type.
 */
export function serveRulesAPI(server: Server, groups: (type: RulesRequestType) => readonly RulesGroup[]): void {
  server.addService(rulesServiceDefinition(), {
    Rules: (call: ServerWritableStream<Pb, Pb>) => {
      try {
        const req = rulesRequestFromPb(call.request);
        for (const g of groups(req.type ?? 'ALL')) call.write({ group: ruleGroupToPb(g) });
        call.end();
      } catch (err) {
        call.destroy(Object.assign(new Error((err as Error).message), { code: status.INTERNAL }));
      }
    },
  });
}

/** Adds `rules: {}` to the Info service's answer: the endpoint serves the Rules API (Thanos's WithRulesInfoFunc). */
export function withRulesInfo(infoPb: Pb): Pb {
  return { ...infoPb, rules: {} };
}

/** Options of {@link connectRulesAPI}. */
export interface ConnectRulesAPIOptions {
  /** TLS settings; plaintext when absent. */
  tls?: GrpcClientTLSOptions;
}

/** A remote endpoint's Rules service, and whether its Info advertises it. */
export interface RemoteRulesAPI {
  readonly address: string;
  /** Whether the endpoint's `thanos.info.Info/Info` answer has `rules` set. */
  advertisesRules(signal?: AbortSignal): Promise<boolean>;
  /** Streams the endpoint's rule groups and warnings. Rejects with a StoreAPIError naming the endpoint. */
  rules(req: RulesRequest, signal?: AbortSignal): AsyncIterable<RulesResponse>;
  close(): void;
}

function toError(address: string, method: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (typeof e?.code === 'number') {
    const name = Object.entries(status).find(([, v]) => v === e.code)?.[0] ?? String(e.code);
    return new StoreAPIError(
      `ERR_GRPC_${name}`,
      e.code,
      `${method} ${address}: rpc error: code = ${name} desc = ${e.details ?? e.message}`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Connects (lazily) to the Rules and Info services of a Thanos endpoint at `address` (host:port). */
export function connectRulesAPI(address: string, opts: ConnectRulesAPIOptions = {}): RemoteRulesAPI {
  const { credentials, channelOptions } = grpcClientCredentials(opts.tls);
  const client = new Client(address, credentials, { ...channelOptions, 'grpc.max_receive_message_length': -1 });
  const rulesDef = rulesServiceDefinition().Rules as ServiceDefinition[string];
  const infoDef = infoServiceDefinition().Info as ServiceDefinition[string];
  return {
    address,
    advertisesRules(signal) {
      return new Promise<boolean>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const call = client.makeUnaryRequest(
          infoDef.path,
          infoDef.requestSerialize,
          infoDef.responseDeserialize as (b: Buffer) => Pb,
          {},
          new Metadata(),
          {},
          (err, res) => {
            signal?.removeEventListener('abort', onAbort);
            if (err) reject(signal?.aborted ? signal.reason : toError(address, infoDef.path, err));
            else resolve(res?.rules !== undefined && res?.rules !== null);
          },
        );
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    rules(req, signal) {
      return {
        async *[Symbol.asyncIterator]() {
          signal?.throwIfAborted();
          const call: ClientReadableStream<Pb> = client.makeServerStreamRequest(
            rulesDef.path,
            rulesDef.requestSerialize,
            rulesDef.responseDeserialize,
            rulesRequestToPb(req),
            new Metadata(),
            {},
          );
          const onAbort = () => call.cancel();
          signal?.addEventListener('abort', onAbort, { once: true });
          let finished = false;
          try {
            for await (const msg of call as AsyncIterable<Pb>) {
              if (msg.group) yield { group: ruleGroupFromPb(msg.group) };
              else if (msg.warning) yield { warning: msg.warning as string };
            }
            finished = true;
          } catch (err) {
            finished = true;
            if (signal?.aborted) throw signal.reason;
            throw toError(address, rulesDef.path, err);
          } finally {
            signal?.removeEventListener('abort', onAbort);
            if (!finished) call.cancel();
          }
        },
      };
    },
    close: () => client.close(),
  };
}
