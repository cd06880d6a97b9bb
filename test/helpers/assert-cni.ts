// Assertions on CNI errors: the thrown value is a CniError with this code and message.
import assert from 'node:assert/strict';
import { CniError } from '../../shared/cni/errors';

function isCniError(code: number, msg: string | RegExp): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof CniError, `not a CniError: ${String(e)}`);
    assert.equal(e.code, code);
    if (typeof msg === 'string') assert.equal(e.message, msg);
    else assert.match(e.message, msg);
    return true;
  };
}

export function throwsCni(fn: () => unknown, code: number, msg: string | RegExp): void {
  assert.throws(fn, isCniError(code, msg));
}

export async function rejectsCni(p: Promise<unknown>, code: number, msg: string | RegExp): Promise<void> {
  await assert.rejects(p, isCniError(code, msg));
}
