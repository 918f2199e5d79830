import protobuf from 'protobufjs';

/**
 * The names of the functions protobufjs generates while `run` runs (`Type$decode`, `Type$encode`,
 * ...; a type's constructor is named after the type alone), read by wrapping its code generator.
 */
export function codeGeneratedWhile(run: () => void): string[] {
  const codegen = protobuf.util.codegen;
  const generated: string[] = [];
  protobuf.util.codegen = ((params: string[] | string, name?: string) => {
    generated.push(String(name ?? params));
    return codegen(params as string[], name as string);
  }) as typeof protobuf.util.codegen;
  try {
    run();
  } finally {
    protobuf.util.codegen = codegen;
  }
  return generated;
}
