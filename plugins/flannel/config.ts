// The flannel plugin's own config keys (flannel-io/cni-plugin compatible).
import { validatePluginName } from '../../shared/cni/delegate';
import { configError } from '../../shared/cni/errors';
import type { NetConf } from '../../shared/cni/types';
import { validate } from '../../shared/cni/validate';
import { DEFAULT_DATA_DIR } from './config-defaults';
import { flannelConfValidator } from './config-validators.generated';
import { DEFAULT_SUBNET_FILE } from './subnet-env';

export { DEFAULT_DATA_DIR, DEFAULT_SUBNET_FILE };

export interface FlannelConf {
  cniVersion: string;
  name: string;
  /** Where flanneld writes this node's lease (subnet.env). */
  subnetFile: string;
  /** Where the rendered delegate config of each container is kept for DEL/CHECK. */
  dataDir: string;
  /** Keys for the delegate config; `{}` when absent. Never holds `name` or `ipam`. */
  delegate: Record<string, unknown>;
  /** Base of the delegate's ipam object. */
  ipam?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
}

/** The reference's checks of the `delegate` object, with its exact messages. */
function checkDelegateKeys(d: Record<string, unknown>): void {
  if ('type' in d && typeof d.type !== 'string') {
    throw configError("'delegate' dictionary, if present, must have (string) 'type' field");
  }
  // Checked before ADD saves anything: a saved config naming a path would make every DEL fail.
  if (typeof d.type === 'string') {
    try {
      validatePluginName(d.type);
    } catch (e) {
      throw configError(`delegate.type: ${(e as Error).message}`);
    }
  }
  if ('name' in d) throw configError("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if ('ipam' in d) throw configError("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
}

/** Validates the flannel config (code 7 on error) and applies the defaults. */
export function parseFlannelConf(conf: NetConf): FlannelConf {
  const c = validate(flannelConfValidator, conf);
  const delegate = c.delegate ?? {};
  checkDelegateKeys(delegate);
  const out: FlannelConf = {
    cniVersion: c.cniVersion,
    name: c.name,
    subnetFile: c.subnetFile,
    dataDir: c.dataDir,
    delegate,
  };
  if (c.ipam) out.ipam = c.ipam;
  if (c.runtimeConfig) out.runtimeConfig = c.runtimeConfig;
  return out;
}
