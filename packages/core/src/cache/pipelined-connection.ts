import { connect, type Socket } from 'node:net';
import { ThanosError } from '@thanos-ts/tsdb';

/**
 * Tries to parse one reply from `buf` starting at `offset`: returns the value and the offset
 * after it, `undefined` when more bytes are needed; throws when the reply is malformed.
 */
export type ReplyParser<T> = (buf: Buffer, offset: number) => { value: T; end: number } | undefined;

interface Pending {
  parse: ReplyParser<unknown>;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** Raised for every request that could not be answered (connection lost, timeout, bad reply). */
export class CacheConnectionError extends ThanosError {
  constructor(message: string) {
    super('CORE_CACHE_CONNECTION', message);
  }
}

/**
 * One TCP connection to a memcached server with request pipelining: the text protocol answers
 * strictly in request order, so replies are matched to a FIFO of waiting requests. Any failure (refused, reset, timeout, garbage) drops the connection and fails every
 * waiting request; the next request reconnects. Callers turn those failures into cache misses.
 */
export class PipelinedConnection {
  private socket: Socket | undefined;
  private connected = false;
  private readonly pending: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  /** Sends `bytes` and resolves with the reply parsed by `parse` (or with undefined when `parse` is null: no reply). */
  request<T>(bytes: Buffer, parse: ReplyParser<T> | null): Promise<T> {
    if (this.closed) return Promise.reject(new CacheConnectionError('connection closed'));
    const socket = this.ensureSocket();
    if (parse === null) {
      socket.write(bytes);
      return Promise.resolve(undefined as T);
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        parse: parse as ReplyParser<unknown>,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
      };
      entry.timer = setTimeout(
        () => this.fail(new CacheConnectionError(`timeout after ${this.timeoutMs}ms`)),
        this.timeoutMs,
      );
      entry.timer.unref?.();
      this.pending.push(entry);
      socket.write(bytes);
    });
  }

  private ensureSocket(): Socket {
    if (this.socket) return this.socket;
    const socket = connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.connected = false;
    this.buf = Buffer.alloc(0);
    socket.on('connect', () => {
      this.connected = true;
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err) =>
      this.failSocket(socket, new CacheConnectionError(`${this.host}:${this.port}: ${err.message}`)),
    );
    socket.on('close', () =>
      this.failSocket(socket, new CacheConnectionError(`${this.host}:${this.port}: connection closed`)),
    );
    return socket;
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let offset = 0;
    while (this.pending.length > 0) {
      const head = this.pending[0] as Pending;
      let parsed: { value: unknown; end: number } | undefined;
      try {
        parsed = head.parse(this.buf, offset);
      } catch (err) {
        this.fail(err instanceof Error ? new CacheConnectionError(err.message) : new CacheConnectionError(String(err)));
        return;
      }
      if (!parsed) break;
      offset = parsed.end;
      this.pending.shift();
      if (head.timer) clearTimeout(head.timer);
      head.resolve(parsed.value);
    }
    this.buf = offset === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(offset);
  }

  private failSocket(socket: Socket, err: Error): void {
    if (socket === this.socket) this.fail(err);
  }

  private fail(err: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    socket?.destroy();
    const waiting = this.pending.splice(0);
    for (const p of waiting) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /** Whether a socket is currently open. */
  isConnected(): boolean {
    return this.connected;
  }

  /** Closes the socket and fails waiting requests. */
  close(): void {
    this.closed = true;
    this.fail(new CacheConnectionError('connection closed'));
  }
}

/** Index of the first CRLF at or after `from`, or -1. */
export function findCRLF(buf: Buffer, from: number): number {
  let i = buf.indexOf(13, from);
  while (i >= 0 && i + 1 < buf.length) {
    if (buf[i + 1] === 10) return i;
    i = buf.indexOf(13, i + 1);
  }
  return -1;
}
