import type { ComponentType } from 'preact';
import type { UiPermission } from '@api/session';

export interface PageProps {
  /** Named parts of the page's path pattern (`/ui/trace/:traceId` → traceId). */
  params: Record<string, string>;
}

/**
 * One page of the UI. Pages are listed in pages/index.ts; the shell builds
 * the navigation, routing, keyboard shortcuts and role checks from that list.
 */
export interface PageDefinition {
  id: string;
  title: string;
  /** Under /ui/, with `:name` parts. */
  path: string;
  /** What the page needs; pages the session lacks it for are hidden and refused. */
  permission: UiPermission;
  /** Shown in the top navigation (pages reached by a link only, such as a trace, are not). */
  nav: boolean;
  /** `g` then this key goes to the page. */
  shortcut?: string;
  component: ComponentType<PageProps>;
}
