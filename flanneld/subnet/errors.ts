// Typed errors of the subnet manager and its etcd registry. Messages name the key, field or
// endpoint involved; they never carry credentials.

/** `<prefix>/config` is absent: flanneld cannot know its network, so it stops at once. */
export class ConfigNotFoundError extends Error {
  override readonly name = 'ConfigNotFoundError';
  constructor(readonly key: string) {
    super(
      `flannel network config not found at etcd key ${key}; write it with the etcd v3 API ` +
        `(ETCDCTL_API=3 etcdctl put ${key} '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}'); ` +
        `keys written with the v2 API are invisible to v3`,
    );
  }
}

/** A lease key or value in etcd that cannot be parsed; the manager skips it with a warning. */
export class LeaseParseError extends Error {
  override readonly name = 'LeaseParseError';
  constructor(readonly key: string, detail: string) {
    super(`lease ${key}: ${detail}`);
  }
}

/** Every candidate subnet of a family's range is held by a lease or a reservation. */
export class OutOfSubnetsError extends Error {
  override readonly name = 'OutOfSubnetsError';
  constructor(readonly network: string, readonly leased: number, readonly min: string, readonly max: string) {
    super(`out of subnets in ${network} (${leased} leased between ${min} and ${max})`);
  }
}

/** Ten lost compare-and-swap races in a row while acquiring a lease. */
export class LeaseRaceError extends Error {
  override readonly name = 'LeaseRaceError';
  constructor(readonly attempts: number, readonly lastKey: string) {
    super(`lost the race for a subnet lease ${attempts} times in a row (last key tried: ${lastKey}); other nodes keep taking the same subnets`);
  }
}
