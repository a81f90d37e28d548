import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { TimeZone } from './timeFormat';

/** User preferences every page reads: the time zone times are shown in. */
export const TimeZoneContext = createContext<TimeZone>('local');

export const useTimeZone = () => useContext(TimeZoneContext);
