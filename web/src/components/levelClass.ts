/** The CSS class that colours a line by its level (a coloured left edge), in Explore and the live tail alike. */
export const levelClass = (level: string) =>
  level.startsWith('err') || level === 'fatal' || level === 'critical'
    ? 'level-error'
    : level.startsWith('warn')
      ? 'level-warn'
      : level === 'info'
        ? 'level-info'
        : level === 'debug' || level === 'trace'
          ? 'level-debug'
          : '';
