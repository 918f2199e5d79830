/**
 * google.protobuf.Value's field names as protobufjs loads them. protobufjs serves the well-known
 * types from its bundled descriptors, which name them in camelCase (`stringValue`) whatever
 * `keepCase` says, so a Value in protobufjs object form must use these names. Written down rather
 * than read from a loaded type so that building a Node (NodeMessage.ts, and its one-pass encoder)
 * does not load protobufjs; proto3 JSON conversion (ProtoJson.ts) writes Struct values under the same
 * names. struct-value-fields.test.ts fails if the loaded type's names ever differ.
 */
export const STRUCT_VALUE_FIELDS = {
  null: 'nullValue',
  number: 'numberValue',
  string: 'stringValue',
  bool: 'boolValue',
  struct: 'structValue',
  list: 'listValue',
} as const;
