// Defaults of the flannel config, shared by the schema (config-schema.ts, build and tests) and
// the plugin (config.ts). No zod here.
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';
