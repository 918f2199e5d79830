import type { HeaderLookup, RequestView } from '../routing/RequestView.js';
import { IpAddress } from './IpAddress.js';
import type { RbacRequest } from './RbacRequest.js';

/**
 * One evaluation's view of an RbacRequest: the shape the route HeaderMatcher reads (RequestView), plus
 * the derived values several rules share, computed at most once (addresses are parsed lazily, so
 * policies without IP rules never parse them).
 */
export class RbacRequestContext implements RequestView {
  readonly authority: string;
  readonly path: string;
  readonly method: string;
  readonly headers: HeaderLookup;
  readonly isGrpc = true;
  private src: IpAddress | undefined | null = null;
  private dst: IpAddress | undefined | null = null;

  constructor(readonly req: RbacRequest) {
    this.path = req.path;
    this.method = req.method;
    this.headers = req.headers;
    // gRFC A41: :authority and Host are one header; :authority wins when both are present.
    this.authority = req.authority ?? req.headers.get(':authority') ?? req.headers.get('host') ?? '';
  }

  get sourceIp(): IpAddress | undefined {
    if (this.src === null) this.src = IpAddress.parse(this.req.sourceIp);
    return this.src;
  }

  get destinationIp(): IpAddress | undefined {
    if (this.dst === null) this.dst = IpAddress.parse(this.req.destinationIp);
    return this.dst;
  }

  /** The path without query (Envoy's PathMatcher ignores the query string). */
  get pathWithoutQuery(): string {
    const p = this.path;
    const q = p.indexOf('?');
    return q < 0 ? p : p.slice(0, q);
  }
}
