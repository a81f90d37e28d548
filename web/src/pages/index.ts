import type { PageDefinition } from '../shell/page';
import { ExplorePage } from './explore/ExplorePage';
import { TailPage } from './TailPage';
import { TracePage } from './TracePage';
import { lazyPage } from './lazyPage';

/**
 * Every page of the UI, in navigation order. To add one: write its
 * component under pages/, then add a line here — the shell derives the
 * route, the nav link, the `g` shortcut and the role check from it.
 */
export const pages: PageDefinition[] = [
  { id: 'explore', title: 'Explore', path: '/ui/explore', permission: 'query', nav: true, shortcut: 'e', component: ExplorePage },
  { id: 'tail', title: 'Live tail', path: '/ui/tail', permission: 'query', nav: true, shortcut: 't', component: TailPage },
  { id: 'trace', title: 'Trace', path: '/ui/trace/:traceId', permission: 'query', nav: false, component: TracePage },
  {
    id: 'patterns',
    title: 'Patterns',
    path: '/ui/patterns',
    permission: 'query',
    nav: true,
    shortcut: 'p',
    component: lazyPage(() => import('./patterns/PatternsPage').then((m) => m.PatternsPage)),
  },
  {
    id: 'alerts',
    title: 'Alerts',
    path: '/ui/alerts',
    permission: 'query',
    nav: true,
    shortcut: 'a',
    component: lazyPage(() => import('./alerts/AlertsPage').then((m) => m.AlertsPage)),
  },
  {
    id: 'incidents',
    title: 'Incidents',
    path: '/ui/incidents',
    permission: 'query',
    nav: true,
    shortcut: 'i',
    component: lazyPage(() => import('./incidents/IncidentsPage').then((m) => m.IncidentsPage)),
  },
  {
    id: 'incident',
    title: 'Incident',
    path: '/ui/incidents/:id',
    permission: 'query',
    nav: false,
    component: lazyPage(() => import('./incidents/IncidentPage').then((m) => m.IncidentPage)),
  },
  {
    id: 'compliance',
    title: 'Compliance',
    path: '/ui/compliance',
    permission: 'audit',
    nav: true,
    shortcut: 'c',
    component: lazyPage(() => import('./compliance/CompliancePage').then((m) => m.CompliancePage)),
  },
  {
    id: 'access-reviews',
    title: 'Access reviews',
    path: '/ui/access-reviews',
    permission: 'audit',
    nav: true,
    shortcut: 'v',
    component: lazyPage(() => import('./accessReviews/AccessReviewsPage').then((m) => m.AccessReviewsPage)),
  },
  {
    id: 'audit',
    title: 'Audit trail',
    path: '/ui/audit',
    permission: 'audit',
    nav: true,
    shortcut: 'u',
    component: lazyPage(() => import('./audit/AuditPage').then((m) => m.AuditPage)),
  },
  {
    id: 'admin',
    title: 'Admin',
    path: '/ui/admin',
    permission: 'admin',
    nav: true,
    shortcut: 'm',
    component: lazyPage(() => import('./admin/AdminPage').then((m) => m.AdminPage)),
  },
];
