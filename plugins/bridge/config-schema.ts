// The shape of the bridge config, declared with zod. Build and tests only: the plugin validates
// with the code scripts/gen-validators.ts compiles from this schema
// (config-validators.generated.ts), so no call loads zod.
import { z } from 'zod';
import { refined } from '../../shared/cni/schema-refine';
import { ifname } from './config-checks';

const flag = z.boolean().nullish();
const int = (field: string) =>
  z.number({ message: `${field} must be an integer` }).int({ message: `${field} must be an integer` }).nullish();

const trunkEntry = z
  .object({ minID: int('minID'), maxID: int('maxID'), id: int('id') })
  .passthrough();

export const bridgeConfSchema = z
  .object({
    cniVersion: z.string().nullish(),
    name: z.string().nullish(),
    bridge: refined(
      z
        .string()
        .max(15, { message: 'must be at most 15 characters (IFNAMSIZ)' })
        .regex(/^[^/:\s]*$/, { message: 'must not contain "/", ":" or whitespace' }),
      ifname,
    ).nullish(),
    isGateway: flag,
    isDefaultGateway: flag,
    forceAddress: flag,
    ipMasq: flag,
    ipMasqBackend: z
      .string()
      .nullish(),
    mtu: z
      .number()
      .int({ message: 'must be an integer between 0 and 65535' })
      .min(0, { message: 'must be an integer between 0 and 65535' })
      .max(65535, { message: 'must be an integer between 0 and 65535' })
      .nullish(),
    hairpinMode: flag,
    promiscMode: flag,
    vlan: z.number().int({ message: 'must be an integer' }).nullish(),
    vlanTrunk: z.array(trunkEntry).nullish(),
    preserveDefaultVlan: flag,
    macspoofchk: flag,
    enabledad: flag,
    disableContainerInterface: flag,
    portIsolation: flag,
    ipam: z.object({ type: z.string().nullish() }).passthrough().nullish(),
    dns: z
      .object({
        nameservers: z.array(z.string()).nullish(),
        domain: z.string().nullish(),
        search: z.array(z.string()).nullish(),
        options: z.array(z.string()).nullish(),
      })
      .passthrough()
      .nullish(),
    args: z
      .object({ cni: z.object({ mac: z.string().nullish() }).passthrough().nullish() })
      .passthrough()
      .nullish(),
    runtimeConfig: z.object({ mac: z.string().nullish() }).passthrough().nullish(),
  })
  .passthrough();

export type BridgeConfInput = z.output<typeof bridgeConfSchema>;
