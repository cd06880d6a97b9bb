// The shapes of host-local's `ipam` config, declared with zod. Build and tests only: the plugin
// validates with the code scripts/gen-validators.ts compiles from these schemas
// (config-validators.generated.ts), so no call loads zod.
import { z } from 'zod';
import { cidr as cidrCheck, ipOrEmpty } from '../../shared/cni/config-checks';
import { refined } from '../../shared/cni/schema-refine';

// Like Go's net.IP decoding, "" and null mean "not given".
const optIP = refined(z.string(), ipOrEmpty).nullish();
const cidr = refined(z.string(), cidrCheck);
const optInt = z.number().int().nullish();

const rangeSchema = z.object({ subnet: cidr, rangeStart: optIP, rangeEnd: optIP, gateway: optIP }).passthrough();
const rangeSetsSchema = z.array(z.array(rangeSchema));
const routeSchema = z
  .object({
    dst: cidr,
    gw: optIP,
    mtu: optInt,
    advmss: optInt,
    priority: optInt,
    table: optInt,
    scope: optInt,
  })
  .passthrough();

const ipamSchema = z
  .object({
    type: z.string().nullish(),
    subnet: cidr.nullish(),
    rangeStart: optIP,
    rangeEnd: optIP,
    gateway: optIP,
    ranges: rangeSetsSchema.nullish(),
    routes: z.array(routeSchema).nullish(),
    dataDir: z.string().nullish(),
    resolvConf: z.string().nullish(),
  })
  .passthrough();

/** What DEL, GC and STATUS parse (loadStoreConfig). */
export const storeSchema = z.object({ ipam: z.object({ dataDir: z.string().nullish() }).passthrough() }).passthrough();

/** What ADD and CHECK parse (loadConfig). */
export const confSchema = z
  .object({
    ipam: ipamSchema,
    runtimeConfig: z.object({ ipRanges: rangeSetsSchema.nullish(), ips: z.array(z.string()).nullish() }).passthrough().nullish(),
    args: z.object({ cni: z.object({ ips: z.array(z.string()).nullish() }).passthrough().nullish() }).passthrough().nullish(),
  })
  .passthrough();

export type RangeInput = z.output<typeof rangeSchema>;
