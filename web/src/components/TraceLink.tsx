import { Link } from '../shell/Link';

export const tracePath = (traceId: string) => `/ui/trace/${encodeURIComponent(traceId)}`;

/** A trace id anywhere in the UI: one click opens its trace. */
export function TraceLink({ traceId }: { traceId: string }) {
  return (
    <Link
      href={tracePath(traceId)}
      class="mono trace-link"
      title="open this trace"
      onClick={(event: MouseEvent) => event.stopPropagation()}
    >
      {traceId}
    </Link>
  );
}
