// The flanneld executable of each build, invoked as mk-docker-opts.sh / mk-docker-opts (the links
// install.sh makes), does what flannel's dist/mk-docker-opts.sh does: the expected texts are the
// ones the unit test holds (the script's own outputs). Includes the deployment notes' form
// `-k DOCKER_NETWORK_OPTIONS -d <the subnet.env>`, which replaces the env file's content.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, tempDir } from '../helpers/plugins';

const SUBNET_ENV = 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const DEFAULT_OUT = 'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.5.52.1/24 --ip-masq=false --mtu=1450"\n';

function run(file: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

for (const build of builds()) {
  describe(`mk-docker-opts from the flanneld executable (${build.label} build)`, () => {
    const tmp = tempDir(`mkdo${build.label[0]}`);
    after(() => tmp.cleanup());
    const envFile = path.join(tmp.path, 'subnet.env');

    it('is installed under both names next to flanneld', () => {
      for (const n of ['mk-docker-opts.sh', 'mk-docker-opts']) {
        const st = fs.statSync(path.join(build.dir, n));
        assert.ok(st.isFile() && (st.mode & 0o111) !== 0, `${n} is an executable file`);
        assert.equal(fs.realpathSync(path.join(build.dir, n)) === fs.realpathSync(path.join(build.dir, 'flanneld')) || st.ino === fs.statSync(path.join(build.dir, 'flanneld')).ino, true, `${n} is flanneld`);
      }
    });

    it('defaults (-i and -c): the docker env file written, nothing on stdout', () => {
      fs.writeFileSync(envFile, SUBNET_ENV);
      const out = path.join(tmp.path, 'docker_opts.env');
      for (const n of ['mk-docker-opts.sh', 'mk-docker-opts']) {
        fs.rmSync(out, { force: true });
        const r = run(path.join(build.dir, n), ['-f', envFile, '-d', out]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(fs.readFileSync(out, 'utf8'), DEFAULT_OUT);
      }
    });

    it("the deployment notes' `-k DOCKER_NETWORK_OPTIONS -d <subnet.env>`: the env file is replaced by the options", () => {
      fs.writeFileSync(envFile, SUBNET_ENV);
      const r = run(path.join(build.dir, 'mk-docker-opts.sh'), ['-k', 'DOCKER_NETWORK_OPTIONS', '-f', envFile, '-d', envFile], { DOCKER_NETWORK_OPTIONS: '-D' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(
        fs.readFileSync(envFile, 'utf8'),
        'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_NETWORK_OPTIONS="-D  --bip=10.5.52.1/24 --ip-masq=false --mtu=1450"\n',
      );
    });

    it('-c -m, the environment overlaid by the file, a missing env file', () => {
      fs.writeFileSync(envFile, SUBNET_ENV);
      const out = path.join(tmp.path, 'o2.env');
      let r = run(path.join(build.dir, 'mk-docker-opts'), ['-c', '-m', '-f', envFile, '-d', out], { FLANNEL_MTU: '9000' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(out, 'utf8'), 'DOCKER_OPTS=" --bip=10.5.52.1/24 --mtu=1450"\n');
      r = run(path.join(build.dir, 'mk-docker-opts'), ['-f', path.join(tmp.path, 'absent.env'), '-d', out], { FLANNEL_SUBNET: '10.9.1.1/24' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(out, 'utf8'), 'DOCKER_OPT_BIP="--bip=10.9.1.1/24"\nDOCKER_OPTS=" --bip=10.9.1.1/24"\n');
    });

    it('a bad option: exit 1, the usage on stderr, no file written', () => {
      const out = path.join(tmp.path, 'never.env');
      const file = path.join(build.dir, 'mk-docker-opts.sh');
      const r = run(file, ['-x', '-d', out]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /illegal option -- x/);
      assert.match(r.stderr, /mk-docker-opts\.sh \[-f FLANNEL-ENV-FILE\] \[-d DOCKER-ENV-FILE\] \[-i\] \[-c\] \[-m\] \[-k COMBINED-KEY\]/);
      assert.match(r.stderr, /-m\tDo not output --ip-masq/);
      assert.equal(fs.existsSync(out), false);
      const r2 = run(file, ['-d']);
      assert.equal(r2.status, 1);
      assert.match(r2.stderr, /option requires an argument -- d/);
    });

    it('flanneld itself is unchanged by the links (--version answers as flanneld)', () => {
      const r = run(path.join(build.dir, 'flanneld'), ['--version']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\d+\.\d+/);
    });
  });
}
