// --disable-vxlan-tx-checksum-offload: tx checksum offload off on our vxlan devices, the
// documented workaround (`ethtool -K flannel.1 tx-checksum-ip-generic off`, flannel #1279/#1929)
// for kernels before 5.7 that send vxlan UDP packets with bad checksums behind NAT, which shows
// as 63 s connection stalls. Through the ethtool ioctl (ETHTOOL_STXCSUM: the device's only
// checksum feature on vxlan is tx-checksum-ip-generic), no ethtool binary. Checked again on every
// periodic reconcile: a re-created device comes back with offload on.
import { ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM, native } from '../../shared/native/addon';

interface TxChecksumReport {
  /** Devices switched off now. */
  changed: string[];
  errors: string[];
}

/** Turns tx checksumming off on each named device that has it on; absent devices are skipped. */
export function ensureTxChecksumOff(devices: readonly string[]): TxChecksumReport {
  const report: TxChecksumReport = { changed: [], errors: [] };
  const addon = native();
  for (const dev of devices) {
    try {
      if (addon.ethtoolValue(dev, ETHTOOL_GTXCSUM, 0) === 0) continue;
      addon.ethtoolValue(dev, ETHTOOL_STXCSUM, 0);
      report.changed.push(dev);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENODEV') continue; // the reconciler re-creates it; next round
      report.errors.push(`tx checksum offload off on ${dev}: ${(e as Error).message}`);
    }
  }
  return report;
}
