// The shape of the portmap config, declared with zod. Build and tests only: the plugin validates
// with the code scripts/gen-validators.ts compiles from this schema
// (config-validators.generated.ts), so no call loads zod.
import { z } from 'zod';

const mappingSchema = z
  .object({
    hostPort: z.number().nullish(),
    containerPort: z.number().nullish(),
    protocol: z.string().nullish(),
    hostIP: z.string().nullish(),
  })
  .passthrough();

export const portMapConfSchema = z
  .object({
    cniVersion: z.string().nullish(),
    name: z.string().nullish(),
    backend: z.string().nullish(),
    snat: z.boolean().nullish(),
    masqAll: z.boolean().nullish(),
    markMasqBit: z.number().int({ message: 'must be an integer' }).nullish(),
    externalSetMarkChain: z.string().nullish(),
    conditionsV4: z.array(z.string()).nullish(),
    conditionsV6: z.array(z.string()).nullish(),
    runtimeConfig: z.object({ portMappings: z.array(mappingSchema).nullish() }).passthrough().nullish(),
  })
  .passthrough();

export type MappingInput = z.output<typeof mappingSchema>;
