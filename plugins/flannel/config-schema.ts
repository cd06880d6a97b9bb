// The shape of the flannel plugin's own config keys, declared with zod. Build and tests only: the
// plugin validates with the code scripts/gen-validators.ts compiles from this schema
// (config-validators.generated.ts), so no call loads zod.
import { z } from 'zod';
import { DEFAULT_SUBNET_FILE } from '../../shared/subnet-env/format';
import { DEFAULT_DATA_DIR } from './config-defaults';

const jsonObject = z.record(z.string(), z.unknown());
const path = (what: string) => z.string().min(1, `must be a non-empty path (${what})`);

// null is accepted where Go's json would leave a nil map, and means "absent".
export const flannelConfSchema = z
  .object({
    cniVersion: z.string().default(''),
    name: z.string(),
    type: z.string(),
    subnetFile: path("flanneld's subnet.env").default(DEFAULT_SUBNET_FILE),
    dataDir: path('scratch directory for delegate configs').default(DEFAULT_DATA_DIR),
    delegate: jsonObject.nullable().optional(),
    ipam: z.object({ type: z.string().min(1, 'must be a non-empty plugin name').optional() }).passthrough().nullable().optional(),
    runtimeConfig: jsonObject.nullable().optional(),
  })
  .passthrough();
