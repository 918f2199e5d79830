import protobuf from 'protobufjs';

/** Written by the build (scripts/build-envoy-descriptor.mjs) next to the compiled EnvoyProtos.js. */
export const DESCRIPTOR_FILE = 'envoy-descriptor.json';
/** The full names of the types the `.proto` sources define beyond the descriptor, one JSON array. */
export const OTHER_TYPES_FILE = 'envoy-other-types.json';

/**
 * A Root over the trimmed descriptor whose `lookupType` falls back, on a miss, to a Root parsed
 * from the `.proto` sources, but only for a name those sources define. Config from real control
 * planes carries many type URLs no Envoy proto defines (Istio's `stats.PluginConfig`,
 * `istio.*`); a miss on those must not pay for parsing the whole tree.
 */
export function rootFromDescriptor(descriptor: protobuf.INamespace, otherTypes: () => ReadonlySet<string>, parseFull: () => protobuf.Root): protobuf.Root {
  const root = protobuf.Root.fromJSON(descriptor);
  root.resolveAll();
  let full: protobuf.Root | undefined;
  const lookupType = root.lookupType.bind(root);
  root.lookupType = (path: string | string[]) => {
    try {
      return lookupType(path);
    } catch (err) {
      const name = (typeof path === 'string' ? path : path.join('.')).replace(/^\./, '');
      if (!otherTypes().has(name)) throw err;
      full ??= parseFull();
      return full.lookupType(name);
    }
  };
  return root;
}

/** Every message and enum full name (no leading dot) in `root`. */
export function typeNamesOf(root: protobuf.NamespaceBase): string[] {
  const names: string[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum) names.push(obj.fullName.slice(1));
      // At runtime Type and Service extend Namespace, so this walks nested types too.
      if (obj instanceof protobuf.Namespace) walk(obj);
    }
  };
  walk(root);
  return names;
}
