// Host-side veth names: "veth" + 8 random hex digits (4 random bytes), like the reference.
import { randomBytes } from '../../shared/base/crypto-lite';

export const randomVethName = (): string => `veth${randomBytes(4).toString('hex')}`;
