/** What the patterns table keeps of one template of one service. */
export interface PatternSummary {
  tenant: string;
  serviceName: string;
  patternId: string;
  template: string;
  firstSeenMs: number;
  lastSeenMs: number;
  count: number;
}
