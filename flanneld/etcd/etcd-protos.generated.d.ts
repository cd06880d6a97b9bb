// Written by scripts/build.sh into the compiled tree: etcd3's .proto files by name.
declare const protos: Record<string, string>;
export = protos;
