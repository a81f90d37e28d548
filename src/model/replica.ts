/**
 * The link of one kind of server-side state (keys, users, tenants, rule
 * groups, saved queries) to the other nodes of a cluster. Its owner sends
 * each change through `send` (nothing is sent on a single node) and takes in
 * every node's changes, its own included, through `apply`.
 */
export class Replica<T> {
  private sender: ((value: T) => Promise<void>) | undefined;

  constructor(readonly apply: (value: T) => Promise<void>) {}

  /** In a cluster: where changes go; the sender throws when it could not send one. */
  replicateTo(sender: (value: T) => Promise<void>): void {
    this.sender = sender;
  }

  async send(value: T): Promise<void> {
    await this.sender?.(value);
  }
}
