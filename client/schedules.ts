/**
 * A schedule as the CLI and the console show it: runbook, cron, state, next runs, and the
 * change-freeze windows it skips (lib/freeze.ts).
 */
import type { ScheduleDescription } from '@temporalio/client';
import { activeFreeze, windowsFromSkip, type FreezeWindow } from '../lib/freeze';

export interface ScheduleView {
  scheduleId: string;
  runbook: string;
  file?: string;
  cron?: string;
  paused: boolean;
  note?: string;
  nextRuns: string[];
  lastRun?: string;
  /** The schedule follows the change-freeze calendar. */
  freezeManaged: boolean;
  /** Freeze windows in its skip calendars, and the one in force now. */
  freezeWindows: FreezeWindow[];
  inFreeze: FreezeWindow | null;
}

export function viewOf(id: string, d: ScheduleDescription, now: Date): ScheduleView {
  const windows = windowsFromSkip(d.spec.skip);
  return {
    scheduleId: id,
    runbook: (d.memo?.runbook as string) ?? '',
    file: d.memo?.file as string | undefined,
    cron: d.memo?.cron as string | undefined,
    paused: d.state.paused,
    note: d.state.note,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    lastRun: d.info.recentActions.at(-1)?.takenAt?.toISOString(),
    freezeManaged: d.memo?.freeze === true,
    freezeWindows: windows,
    inFreeze: activeFreeze({ windows }, now),
  };
}

