// The vxlan keys of the config's Backend object (§2): VNI, Port, MTU, GBP, Learning,
// DirectRouting, matched case-insensitively like Go's json.Unmarshal. Pure.
import type { VxlanConfig } from '../types';
import { BackendError } from './types';

function field(o: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o[k];
}

function int(o: Record<string, unknown>, name: string, min: number, max: number, dflt: number): number {
  const v = field(o, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new BackendError('vxlan', `Backend.${name} ${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  }
  return v;
}

function bool(o: Record<string, unknown>, name: string): boolean {
  const v = field(o, name);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new BackendError('vxlan', `Backend.${name} ${JSON.stringify(v)} is not true or false`);
  return v;
}

/** Defaults as the reference: VNI 1, Port 0 (the kernel's 8472), MTU 0 (the external interface's). */
export function vxlanConfigFrom(raw: Record<string, unknown>): VxlanConfig {
  return {
    // The kernel's VNI is 24 bits.
    vni: int(raw, 'VNI', 0, 0xffffff, 1),
    port: int(raw, 'Port', 0, 65535, 0),
    mtu: int(raw, 'MTU', 0, 65535, 0),
    gbp: bool(raw, 'GBP'),
    learning: bool(raw, 'Learning'),
    directRouting: bool(raw, 'DirectRouting'),
  };
}
