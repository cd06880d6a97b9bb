// An in-memory ReservationStore for allocator tests (same semantics as the disk store).
import { type IP, formatIP, parseIP } from '../../../shared/ip';
import type { ReservationStore } from '../../../plugins/host-local/allocator';

export class MemoryStore implements ReservationStore {
  /** ip string → "id\r\nifname" (or a legacy "id"). */
  readonly files = new Map<string, string>();
  readonly last = new Map<number, IP>();
  /** Makes reserve() throw for this IP (simulated I/O failure). */
  failOn?: string;

  reserve(id: string, ifname: string, ip: IP, rangeSetIndex: number): boolean {
    const k = formatIP(ip);
    if (this.failOn === k) throw new Error(`EIO: simulated failure on ${k}`);
    if (this.files.has(k)) return false;
    this.files.set(k, `${id.trim()}\r\n${ifname}`);
    this.last.set(rangeSetIndex, ip);
    return true;
  }
  releaseIP(ip: IP): void {
    this.files.delete(formatIP(ip));
  }
  lastReservedIP(rangeSetIndex: number): IP | undefined {
    return this.last.get(rangeSetIndex);
  }
  getByID(id: string, ifname: string): IP[] {
    const out: IP[] = [];
    for (const [k, v] of this.files) {
      if (v === `${id.trim()}\r\n${ifname}` || v === id.trim()) out.push(parseIP(k)!);
    }
    return out;
  }
  /** Marks ips as taken by someone else. */
  take(...ips: string[]): this {
    for (const s of ips) this.files.set(s, 'other\r\neth0');
    return this;
  }
}
