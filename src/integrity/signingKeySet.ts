import type { PublishedKey } from '../model/publishedKey.js';
import { Replica } from '../model/replica.js';

/**
 * The verifier keys this node accepts: its own, and in a cluster every key
 * any node of it published (each node signs its seals with its own key).
 * Keys are only ever added: a seal made before a node's key changed still
 * verifies. A key not published is not accepted.
 */
export class SigningKeySet {
  private readonly published = new Map<string, PublishedKey>();
  /** In a cluster: every node's key arrives here, this node's own included (it publishes it at start). */
  readonly replica = new Replica<PublishedKey>(async (key) => void this.published.set(key.verifierKey, key));

  constructor(readonly own: PublishedKey) {
    this.published.set(own.verifierKey, own);
  }

  /** Every accepted key, this node's first. */
  list(): PublishedKey[] {
    return [this.own, ...[...this.published.values()].filter((key) => key.verifierKey !== this.own.verifierKey)];
  }

  /** The other nodes' keys, which a seal may be signed with besides this node's own. */
  others(): string[] {
    return this.list()
      .slice(1)
      .map((key) => key.verifierKey);
  }
}
