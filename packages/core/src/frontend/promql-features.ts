import { FUNCTIONS, type FunctionDef, type ParseOptions } from '@thanos-ts/promql';
import { FrontendConfigError } from './errors.js';

/** The --enable-feature values Thanos's query frontend acts on. */
export const FRONTEND_FEATURES = ['promql-experimental-functions'] as const;
/** One of {@link FRONTEND_FEATURES}. */
export type FrontendFeature = (typeof FRONTEND_FEATURES)[number];

/**
 * The x- functions of Thanos's PromQL engine (promql-engine's parse.XFunctions): `xrate`,
 * `xincrease`, `xdelta`, each a range vector in, an instant vector out, as `rate`.
 */
const X_FUNCTIONS: readonly FunctionDef[] = ['xdelta', 'xincrease', 'xrate'].map((name) =>
  Object.freeze({
    name,
    argTypes: Object.freeze(['matrix'] as const),
    variadic: 0,
    returnType: 'vector' as const,
    experimental: false,
  }),
);

/**
 * The PromQL the frontend reads when it analyses queries (vertical sharding, `@ start()`/`@ end()`
 * resolution before splitting, cacheability, instant answer order), from Thanos's
 * --query-frontend.enable-x-functions and --enable-feature=promql-experimental-functions. A query
 * the frontend cannot read is passed on whole (not sharded, `@` unresolved, not cached), so these
 * must match what the downstream querier accepts. Throws FrontendConfigError for an unknown feature.
 */
export function frontendParseOptions(opts: {
  enableXFunctions?: boolean | undefined;
  enableFeatures?: readonly string[] | undefined;
}): ParseOptions {
  for (const f of opts.enableFeatures ?? [])
    if (!(FRONTEND_FEATURES as readonly string[]).includes(f))
      throw new FrontendConfigError(
        `query-frontend: unknown feature ${JSON.stringify(f)}; the query frontend knows ${FRONTEND_FEATURES.join(', ')}`,
      );
  const out: ParseOptions = {};
  if (opts.enableFeatures?.includes('promql-experimental-functions')) out.enableExperimentalFunctions = true;
  if (opts.enableXFunctions) {
    const table = new Map<string, FunctionDef>(FUNCTIONS);
    for (const f of X_FUNCTIONS) table.set(f.name, f);
    out.functions = table;
  }
  return out;
}
