import { describe, expect, it } from 'vitest';
import { envoyRoot } from '../src/proto/EnvoyProtos.js';
import { STRUCT_VALUE_FIELDS } from '../src/proto/StructValueFields.js';

// NodeMessage.ts and the Node's one-pass encoder write google.protobuf.Value under these names without
// loading protobufjs, and ProtoJson.ts converts JSON Structs to them; protobufjs's fromObject reads a
// Value under the names of its loaded type.
describe('google.protobuf.Value field names', () => {
  it('are the names of the loaded type, one per kind', () => {
    const fields = envoyRoot().lookupType('google.protobuf.Value').fields;
    const byId = Object.fromEntries(Object.values(fields).map((f) => [f.id, f.name]));
    expect(byId).toStrictEqual({
      1: STRUCT_VALUE_FIELDS.null,
      2: STRUCT_VALUE_FIELDS.number,
      3: STRUCT_VALUE_FIELDS.string,
      4: STRUCT_VALUE_FIELDS.bool,
      5: STRUCT_VALUE_FIELDS.struct,
      6: STRUCT_VALUE_FIELDS.list,
    });
  });
});
