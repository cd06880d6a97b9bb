import { CniError, ErrorCode } from './errors';

/** The spec versions every plugin of the suite speaks (the reference's version.All). */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const CURRENT_VERSION = '1.1.0';

/** What CNI_COMMAND=VERSION prints (without the newline). */
export function versionText(): string {
  return JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] });
}

const VERSION_RE = /^(\d+)\.(\d+)\.(\d+)$/;

function parseVersion(v: string): [number, number, number] {
  const m = VERSION_RE.exec(v);
  if (!m) throw new CniError(ErrorCode.DecodingFailure, `invalid version "${v}": the version is empty or has too many parts`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export const versionAtLeast = (v: string, min: string): boolean => compareVersions(v, min) >= 0;

/** An absent or empty cniVersion means 0.1.0 (spec). */
export const normaliseVersion = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : '0.1.0');
