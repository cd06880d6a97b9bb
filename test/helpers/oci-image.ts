// A one-layer OCI image layout tarball made by hand from a rootfs tar (no registry is reachable
// here), importable with `ctr images import`: gzip layer blob, image config whose
// rootfs.diff_ids names the uncompressed tar, manifest, index.json carrying the image name in
// the `io.containerd.image.name` annotation, and the oci-layout marker.
// See ../shared/reference/runtimes.md ("containerd 1.6.20: ctr run --cni").
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sh } from './sh';

export interface OciImageOptions {
  /** Full reference stored in the index annotation, e.g. `localhost/bb:latest`. */
  name: string;
  /** Image config `Cmd` (default `["/bin/sh"]`). */
  cmd?: string[];
}

export interface OciImage {
  /** The layout tarball to import. */
  tar: string;
  name: string;
  /** Digests (`sha256:<hex>`) of the blobs, for assertions and debugging. */
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  diffId: string;
}

const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The OCI architecture name of this machine (Go's GOARCH spelling). */
export function ociArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const a = map[process.arch];
  if (!a) throw new Error(`no OCI architecture name for node's process.arch ${process.arch}`);
  return a;
}

/**
 * Writes an OCI image layout for `rootfsTar` under `<dir>/oci-layout/` and packs it into
 * `<dir>/oci-image.tar`. The layout's directory is left in place (it is in the caller's temp dir).
 */
export function buildOciImage(rootfsTar: string, dir: string, opts: OciImageOptions): OciImage {
  const layout = path.join(dir, 'oci-layout');
  const blobs = path.join(layout, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const putBlob = (data: Buffer): { digest: string; size: number } => {
    const digest = sha256(data);
    fs.writeFileSync(path.join(blobs, digest.slice('sha256:'.length)), data);
    return { digest, size: data.length };
  };

  const tarBytes = fs.readFileSync(rootfsTar);
  const diffId = sha256(tarBytes);
  const layer = putBlob(gzipSync(tarBytes));

  const created = new Date(0).toISOString();
  const config = putBlob(
    Buffer.from(
      JSON.stringify({
        created,
        architecture: ociArch(),
        os: 'linux',
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: opts.cmd ?? ['/bin/sh'],
          WorkingDir: '/',
        },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created, created_by: 'cni-ts-suite test/helpers/oci-image.ts' }],
      }),
    ),
  );

  const manifest = putBlob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: { mediaType: MEDIA.config, digest: config.digest, size: config.size },
        layers: [{ mediaType: MEDIA.layerGzip, digest: layer.digest, size: layer.size }],
      }),
    ),
  );

  const tag = opts.name.includes(':') && !opts.name.endsWith(']') ? opts.name.slice(opts.name.lastIndexOf(':') + 1) : 'latest';
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MEDIA.manifest,
          digest: manifest.digest,
          size: manifest.size,
          platform: { architecture: ociArch(), os: 'linux' },
          annotations: { 'io.containerd.image.name': opts.name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const tar = path.join(dir, 'oci-image.tar');
  sh('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', layout, '-cf', tar, 'oci-layout', 'index.json', 'blobs']);
  return { tar, name: opts.name, manifestDigest: manifest.digest, configDigest: config.digest, layerDigest: layer.digest, diffId };
}
