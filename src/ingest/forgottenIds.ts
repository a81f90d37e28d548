/**
 * A Bloom filter of the record ids the redelivery filter forgot (evicted from
 * its exact memory): "not here" is certain, "maybe here" sends the record to
 * storage. A sender with a backlog (an agent whose disk buffer holds minutes
 * of lines) sends records observed long before they arrive; past the exact
 * memory every one of its batches would be looked up in storage, a query per
 * request that doubled the server's cost per line. About 29 bits per id for
 * a one-in-a-million false positive, so at most one request in ~100 of
 * 10,000 records still asks storage.
 */
export class ForgottenIds {
  private readonly bits: Uint32Array;
  private readonly bitCount: number;
  private readonly probes = 20;
  private added = 0;

  constructor(readonly capacity: number) {
    // m = -n ln p / (ln 2)², p = 1e-6; k = m/n ln 2 ≈ 20.
    this.bitCount = Math.max(1024, Math.ceil(capacity * 28.8));
    this.bits = new Uint32Array(Math.ceil(this.bitCount / 32));
  }

  get isFull(): boolean {
    return this.added >= this.capacity;
  }

  add(key: string): void {
    const [first, step] = hashes(key);
    for (let i = 0; i < this.probes; i++) {
      const bit = (first + Math.imul(i, step)) >>> 0;
      const index = bit % this.bitCount;
      this.bits[index >>> 5] |= 1 << (index & 31);
    }
    this.added++;
  }

  mightHave(key: string): boolean {
    const [first, step] = hashes(key);
    for (let i = 0; i < this.probes; i++) {
      const index = ((first + Math.imul(i, step)) >>> 0) % this.bitCount;
      if ((this.bits[index >>> 5] & (1 << (index & 31))) === 0) return false;
    }
    return true;
  }

  clear(): void {
    this.bits.fill(0);
    this.added = 0;
  }
}

/** Two independent 32-bit hashes (FNV-1a and a murmur3-style mix), combined by double hashing into the probes. */
function hashes(key: string): [number, number] {
  let fnv = 0x811c9dc5;
  let murmur = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    fnv = Math.imul(fnv ^ code, 0x01000193);
    let k = Math.imul(code, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    murmur ^= k;
    murmur = Math.imul((murmur << 13) | (murmur >>> 19), 5) + 0xe6546b64;
  }
  murmur ^= key.length;
  murmur = Math.imul(murmur ^ (murmur >>> 16), 0x85ebca6b);
  murmur = Math.imul(murmur ^ (murmur >>> 13), 0xc2b2ae35);
  murmur ^= murmur >>> 16;
  fnv ^= fnv >>> 15;
  // An odd step visits distinct bits.
  return [fnv >>> 0, (murmur | 1) >>> 0];
}
