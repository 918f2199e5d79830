import type { Dispatcher } from 'undici';
import type { LocalReply } from '@meshlet/core/client';
import type { CallerHandler, CommittableResponse } from './CommittableResponse.js';
import { ResponseHeaders } from './ResponseHeaders.js';

/**
 * A reply Meshlet makes itself, as Envoy does: direct_response, redirect, fault
 * abort, and (by default) failures such as no route (NR), no healthy upstream
 * (UH) or overflow (UO). The flags travel in `x-meshlet-response-flags` so
 * callers can tell a local reply from an upstream one.
 */
export class LocalResponse implements CommittableResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  private readonly body: Buffer;

  constructor(reply: LocalReply, detail?: string) {
    this.status = reply.status;
    const text = detail ?? reply.body ?? '';
    this.body = Buffer.from(text);
    const headers: Record<string, string> = { ...reply.headers };
    if (this.body.length > 0 && !headers['content-type']) headers['content-type'] = 'text/plain';
    headers['content-length'] = String(this.body.length);
    if (reply.flags.length > 0) headers['x-meshlet-response-flags'] = reply.flags.join(',');
    this.headers = new ResponseHeaders(headers);
  }

  /** The reply body's size (Istio's response_bytes for a local reply). */
  get bodyBytes(): number {
    return this.body.length;
  }

  discard(): void {}

  commit(controller: CallerHandler & Dispatcher.DispatchController): void {
    const handler = controller.modern();
    handler.onResponseStart?.(controller, this.status, this.headers.headers, '');
    if (this.body.length > 0 && !controller.aborted) handler.onResponseData?.(controller, this.body);
    if (!controller.aborted) handler.onResponseEnd?.(controller, {});
  }
}
