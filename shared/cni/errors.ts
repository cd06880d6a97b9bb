// CNI error codes (SPEC.md "Error codes") plus the skel-only 8 (invalid netns).
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableDegraded: 51,
  Internal: 999,
} as const;

type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/** An error that is reported to the runtime as CNI error JSON. */
export class CniError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
    this.name = 'CniError';
  }

  toJSON(cniVersion?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (cniVersion) out.cniVersion = cniVersion;
    out.code = this.code;
    out.msg = this.message;
    if (this.details) out.details = this.details;
    return out;
  }
}

export const configError = (msg: string, details?: string): CniError =>
  new CniError(ErrorCode.InvalidNetworkConfig, msg, details);

export const internalError = (msg: string, details?: string): CniError =>
  new CniError(ErrorCode.Internal, msg, details);

/** Any thrown value becomes a CniError; non-CNI errors become 999 with their message. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof Error) return internalError(e.message);
  return internalError(String(e));
}

/** Wraps an error's message with a prefix, keeping its code (Go's fmt.Errorf("...: %v")). */
export function wrapError(prefix: string, e: unknown): CniError {
  const err = toCniError(e);
  return new CniError(err.code, `${prefix}: ${err.message}`, err.details);
}
