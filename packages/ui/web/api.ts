/** A successful Prometheus API answer: `data` plus the warnings and infos it carried. */
export interface APIResult<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

/** An error answer of the Prometheus API (or a non-JSON one, such as a 404 page). */
export class APIRequestError extends Error {
  override readonly name = 'APIRequestError';
  constructor(
    message: string,
    /** Prometheus's errorType (`bad_data`, `execution`, …), or `http` for a non-API answer. */
    readonly errorType: string,
    /** HTTP status code; 0 when the request never got an answer. */
    readonly status: number,
  ) {
    super(message);
  }
}

let apiPrefix = '';

/** Sets the route prefix the API lives under (from the page's config). */
export function setAPIPrefix(prefix: string): void {
  apiPrefix = prefix;
}

/** The URL of an API path, e.g. `/api/v1/query`, under the route prefix. */
export function apiURL(path: string): string {
  return `${apiPrefix}${path}`;
}

/** Sends a request to an API path (POSTing `form` when given); network failures become APIRequestError. */
async function request(
  path: string,
  form: URLSearchParams | undefined,
  signal: AbortSignal | undefined,
): Promise<Response> {
  try {
    return await fetch(apiURL(path), {
      method: form ? 'POST' : 'GET',
      body: form,
      headers: form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : undefined,
      signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new APIRequestError(`request to ${path} failed: ${(err as Error).message}`, 'network', 0);
  }
}

/** The raw answer text and HTTP status of an API call (for answers parsed by hand, like big matrices). */
export async function callAPIText(
  path: string,
  form?: URLSearchParams,
  signal?: AbortSignal,
): Promise<{ text: string; status: number }> {
  const res = await request(path, form, signal);
  return { text: await res.text(), status: res.status };
}

/**
 * Calls an API path. With `form`, POSTs it form-encoded (as Prometheus's UI does for queries, so
 * long expressions never hit URL limits); otherwise GETs.
 */
export async function callAPI<T>(path: string, form?: URLSearchParams, signal?: AbortSignal): Promise<APIResult<T>> {
  const res = await request(path, form, signal);
  const text = await res.text();
  let body: { status?: string; data?: T; error?: string; errorType?: string; warnings?: string[]; infos?: string[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new APIRequestError(`${path}: HTTP ${res.status}: ${text.trim().slice(0, 300)}`, 'http', res.status);
  }
  if (body.status !== 'success') {
    throw new APIRequestError(body.error ?? `HTTP ${res.status}`, body.errorType ?? 'unknown', res.status);
  }
  return { data: body.data as T, warnings: body.warnings ?? [], infos: body.infos ?? [] };
}
