/**
 * The two messages of `istio.v1.auth.IstioCertificateService/CreateCertificate` (istio/api
 * security/v1alpha1/ca.proto), encoded by hand in the protobuf wire format:
 *
 *   IstioCertificateRequest  { string csr = 1; int64 validity_duration = 3; google.protobuf.Struct metadata = 4; }
 *   IstioCertificateResponse { repeated string cert_chain = 1; }
 *
 * Two messages with four fields do not justify a protobuf runtime dependency in @meshlet/core; the
 * tests check this encoding against protobufjs and a grpc-js server.
 */
export interface IstioCertificateRequest {
  /** PEM PKCS#10 */
  readonly csr: string;
  /** seconds */
  readonly validity_duration?: number;
  /** Istio reads ClusterID, WorkloadName, WorkloadIP from here. */
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

export interface IstioCertificateResponse {
  /** PEM certificates: leaf, intermediates..., root last. */
  readonly cert_chain: string[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

export function encodeIstioCertificateRequest(req: IstioCertificateRequest): Buffer {
  const out = new Writer();
  out.string(1, req.csr);
  if (req.validity_duration !== undefined && req.validity_duration !== 0) out.varintField(3, BigInt(Math.trunc(req.validity_duration)));
  if (req.metadata !== undefined && Object.keys(req.metadata).length > 0) out.bytes(4, encodeStruct(req.metadata));
  return out.finish();
}

export function decodeIstioCertificateResponse(buf: Uint8Array): IstioCertificateResponse {
  const certChain: string[] = [];
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LENGTH_DELIMITED) certChain.push(Buffer.from(r.lengthDelimited()).toString('utf8'));
    else r.skip(wire);
  }
  return { cert_chain: certChain };
}

/** google.protobuf.Struct { map<string, Value> fields = 1 } with scalar Values (string 3, number 2, bool 4). */
function encodeStruct(obj: Readonly<Record<string, string | number | boolean>>): Buffer {
  const struct = new Writer();
  for (const [key, value] of Object.entries(obj)) {
    const v = new Writer();
    if (typeof value === 'string') v.string(3, value);
    else if (typeof value === 'number') v.double(2, value);
    else v.varintField(4, value ? 1n : 0n);
    const entry = new Writer();
    entry.string(1, key);
    entry.bytes(2, v.finish());
    struct.bytes(1, entry.finish());
  }
  return struct.finish();
}

class Writer {
  private readonly chunks: Buffer[] = [];

  string(field: number, value: string): void {
    this.bytes(field, Buffer.from(value, 'utf8'));
  }

  bytes(field: number, value: Buffer): void {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(BigInt(value.length));
    this.chunks.push(value);
  }

  varintField(field: number, value: bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  double(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.chunks.push(b);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  private varint(value: bigint): void {
    // Negative int64 values are 10-byte two's complement varints.
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.chunks.push(Buffer.from(bytes));
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('IstioCertificateResponse: truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('IstioCertificateResponse: varint too long');
    }
  }

  lengthDelimited(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('IstioCertificateResponse: truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        return;
      case WIRE_LENGTH_DELIMITED:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        return;
      default:
        throw new Error(`IstioCertificateResponse: unsupported wire type ${wire}`);
    }
  }
}
