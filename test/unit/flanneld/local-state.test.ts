import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLocalState, newNodeId, saveLocalState } from '../../../flanneld/local-state';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-flanneld-state-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ID = '0123456789abcdef0123456789abcdef';

test('newNodeId: 32 hex digits, different each time', () => {
  const a = newNodeId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newNodeId());
});

test('save then load round-trips; file 0600, missing directories made 0755, no temp file left', () => {
  const file = path.join(dir, 'run', 'flannel', 'subnet.state.json');
  const s = { nodeId: ID, vtepMac: { 4: '02:42:ac:11:00:02', 6: '0a:58:0a:f4:00:01' } };
  saveLocalState(file, s);
  assert.deepEqual(loadLocalState(file), s);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const umask = process.umask();
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o755 & ~umask);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['subnet.state.json']);
  // Overwrite with a v4-only state.
  saveLocalState(file, { nodeId: ID, vtepMac: { 4: '02:42:ac:11:00:03' } });
  assert.deepEqual(loadLocalState(file), { nodeId: ID, vtepMac: { 4: '02:42:ac:11:00:03' } });
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('a missing file is absent without a warning', () => {
  const warnings: string[] = [];
  assert.equal(loadLocalState(path.join(dir, 'nope.json'), (m) => warnings.push(m)), undefined);
  assert.deepEqual(warnings, []);
});

test('a corrupt file is reported and treated as absent', () => {
  const file = path.join(dir, 'corrupt.json');
  const cases: [string, string | RegExp][] = [
    ['', /: ignoring the local state: invalid JSON \(/],
    ['{"nodeId":', /: ignoring the local state: invalid JSON \(/],
    ['[]', 'not a JSON object'],
    [JSON.stringify({ version: 2, nodeId: ID, vtepMac: {} }), 'version 2 is not 1'],
    [JSON.stringify({ version: 1, nodeId: 'XYZ', vtepMac: {} }), 'nodeId "XYZ" is not 32 lower-case hex digits'],
    [JSON.stringify({ version: 1, nodeId: ID }), 'vtepMac undefined is not an object'],
    [JSON.stringify({ version: 1, nodeId: ID, vtepMac: { 5: '02:42:ac:11:00:02' } }), 'vtepMac key "5" is not 4 or 6'],
    [JSON.stringify({ version: 1, nodeId: ID, vtepMac: { 4: '02:42:AC:11:00' } }), 'vtepMac.4 "02:42:AC:11:00" is not a MAC address like aa:bb:cc:dd:ee:ff'],
  ];
  for (const [content, msg] of cases) {
    fs.writeFileSync(file, content);
    const warnings: string[] = [];
    assert.equal(loadLocalState(file, (m) => warnings.push(m)), undefined, content);
    assert.equal(warnings.length, 1, content);
    if (typeof msg === 'string') assert.equal(warnings[0], `${file}: ignoring the local state: ${msg}`);
    else assert.match(warnings[0]!, msg);
  }
});

test('an unreadable path throws the fs error', () => {
  assert.throws(() => loadLocalState(dir), { code: 'EISDIR' });
});

test('saving an invalid state is refused before anything is written', () => {
  const file = path.join(dir, 'bad', 'state.json');
  assert.throws(() => saveLocalState(file, { nodeId: 'short', vtepMac: {} }), {
    name: 'RangeError',
    message: `local state for ${file}: nodeId "short" is not 32 lower-case hex digits`,
  });
  assert.equal(fs.existsSync(path.dirname(file)), false);
});
