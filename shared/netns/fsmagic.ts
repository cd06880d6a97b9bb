// statfs(2) f_type values that identify a network namespace file: a bind mount made by
// `ip netns add` lives on nsfs; /proc/<pid>/ns/net is reached through procfs.
export const NSFS_MAGIC = 0x6e736673;
export const PROC_SUPER_MAGIC = 0x9fa0;

export const isNetnsFsType = (type: number | bigint): boolean => {
  const t = Number(type);
  return t === NSFS_MAGIC || t === PROC_SUPER_MAGIC;
};

/** The reference's error text: `unknown FS magic on "<path>": <hex>`. */
export const unknownMagicMessage = (path: string, type: number | bigint): string =>
  `unknown FS magic on ${JSON.stringify(path)}: ${Number(type).toString(16)}`;
