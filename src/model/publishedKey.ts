/** A node's checkpoint verifier key as the cluster publishes it (bucket `meshlog_signing_keys`). */
export interface PublishedKey {
  node: string;
  /** C2SP verifier key string (`<name>+<hash>+<key>`). */
  verifierKey: string;
}
