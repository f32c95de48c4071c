/**
 * `runwright schedule ...`: runbooks on Temporal Schedules (drills, audits). The schedule's
 * action starts the same interpreter workflow `run` starts, with the validated runbook and
 * params captured at creation time.
 */
import type { Command } from 'commander';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleHandle, type ScheduleOverlapPolicy } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../lib/config';
import { INTERPRETER_WORKFLOW } from '../workflows/definitions';
import { currentUser, out, prepareRun, runInput, withSession } from './common';
import { CliError, EXIT, type Session } from './session';
import { displayPath } from './runbooks';

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
};

async function scheduleHandle(s: Session, id: string): Promise<ScheduleHandle> {
  const h = s.client.schedule.getHandle(id);
  try {
    await h.describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new CliError(`no schedule with id "${id}"`, EXIT.usage);
    throw e;
  }
  return h;
}

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('run runbooks on Temporal Schedules (cron, jitter, overlap policy)');
  const collect = (v: string, prev: string[]) => [...prev, v];

  schedule
    .command('create')
    .argument('<file>', 'runbook file')
    .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * 1" (repeatable with ;)')
    .option('--id <scheduleId>', 'schedule id (default: the runbook name)')
    .option('--set <name=value>', 'set a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file with params')
    .option('--jitter <duration>', 'random delay added to each run, e.g. 10m')
    .option('--overlap <policy>', `what to do if the previous run is still going: ${Object.keys(OVERLAP).join(', ')}`, 'skip')
    .option('--catchup-window <duration>', 'how late a missed run may still start after an outage', '10m')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--timezone <tz>', 'time zone for the cron expression', 'UTC')
    .option('--note <text>', 'note shown with the schedule')
    .option('--paused', 'create it paused')
    .option('--as <user>', 'recorded as the runs\' starter')
    .description('create a schedule for a runbook')
    .action(async (file: string, o) => {
      const overlap = OVERLAP[o.overlap];
      if (!overlap) throw new CliError(`--overlap ${o.overlap}: expected one of ${Object.keys(OVERLAP).join(', ')}`, EXIT.usage);
      const { loaded, params } = prepareRun(file, o);
      const id = o.id ?? loaded.runbook.metadata.name;
      await withSession({}, async (s) => {
        try {
          await s.client.schedule.create({
            scheduleId: id,
            spec: { cronExpressions: String(o.cron).split(';').map((c) => c.trim()), jitter: o.jitter, timezone: o.timezone },
            action: {
              type: 'startWorkflow',
              workflowType: INTERPRETER_WORKFLOW,
              taskQueue: s.taskQueue,
              workflowId: `${loaded.runbook.metadata.name}-scheduled`,
              args: [runInput(loaded, params, currentUser(o.as ?? `schedule:${id}`), s.searchAttributes)],
              memo: { runbook: loaded.runbook.metadata.name, schedule: id, file: displayPath(file) },
              ...(s.searchAttributes ? { searchAttributes: { [SEARCH_ATTRIBUTES.runbook]: [loaded.runbook.metadata.name] } } : {}),
            },
            policies: { overlap, catchupWindow: o.catchupWindow, pauseOnFailure: !!o.pauseOnFailure },
            state: { paused: !!o.paused, note: o.note ?? `created by ${currentUser(o.as)} from ${displayPath(file)}` },
            memo: { runbook: loaded.runbook.metadata.name, file: displayPath(file) },
          });
        } catch (e) {
          if (e instanceof ScheduleAlreadyRunning) throw new CliError(`a schedule with id "${id}" already exists (delete it first, or pass --id)`, EXIT.usage);
          if (/invalid|cron/i.test(String((e as Error)?.message))) throw new CliError(`--cron ${o.cron}: ${String((e as Error).message).split('\n')[0]}`, EXIT.usage);
          throw e;
        }
        const d = await s.client.schedule.getHandle(id).describe();
        out(`created schedule ${id} for ${loaded.runbook.metadata.name}; next runs: ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ') || '(paused)'}`);
      });
    });

  schedule
    .command('list')
    .option('--json', 'machine-readable output')
    .description('list schedules with their next run times')
    .action(async (o) => {
      await withSession({}, async (s) => {
        const rows = [];
        for await (const sc of s.client.schedule.list()) {
          const d = await s.client.schedule.getHandle(sc.scheduleId).describe();
          rows.push({
            scheduleId: sc.scheduleId,
            runbook: (d.memo?.runbook as string) ?? '',
            paused: d.state.paused,
            note: d.state.note,
            cron: d.spec.calendars?.length ? 'calendar' : '',
            nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
            lastRun: d.info.recentActions.at(-1)?.takenAt?.toISOString(),
          });
        }
        if (o.json) return out(JSON.stringify(rows, null, 2));
        if (!rows.length) return out('no schedules');
        for (const r of rows) out(`${r.scheduleId.padEnd(32)} ${String(r.runbook).padEnd(24)} ${r.paused ? `paused (${r.note ?? ''})` : `next ${r.nextRuns[0] ?? '-'}`}`);
      });
    });

  schedule
    .command('describe')
    .argument('<id>', 'schedule id')
    .option('--json', 'machine-readable output')
    .description('show a schedule: spec, policies, state, recent and next runs')
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        const d = await (await scheduleHandle(s, id)).describe();
        const view = {
          scheduleId: id,
          runbook: d.memo?.runbook,
          paused: d.state.paused,
          note: d.state.note,
          spec: d.spec,
          policies: d.policies,
          nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
          recentRuns: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
          running: d.info.runningActions.map((a) => a.workflow.workflowId),
        };
        out(JSON.stringify(view, null, 2));
        void o;
      });
    });

  schedule
    .command('pause')
    .argument('<id>', 'schedule id')
    .requiredOption('--reason <text>', 'why (shown in describe/list)')
    .description('pause a schedule')
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        await (await scheduleHandle(s, id)).pause(`${o.reason} (by ${currentUser()})`);
        out(`paused ${id}`);
      });
    });

  schedule
    .command('unpause')
    .argument('<id>', 'schedule id')
    .option('--reason <text>', 'why')
    .description('resume a paused schedule')
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        await (await scheduleHandle(s, id)).unpause(`${o.reason ?? 'unpaused'} (by ${currentUser()})`);
        out(`unpaused ${id}`);
      });
    });

  schedule
    .command('trigger')
    .argument('<id>', 'schedule id')
    .option('--overlap <policy>', 'overlap policy for this run', 'allow-all')
    .description('start a run now')
    .action(async (id: string, o) => {
      await withSession({}, async (s) => {
        await (await scheduleHandle(s, id)).trigger(OVERLAP[o.overlap] ?? 'ALLOW_ALL');
        out(`triggered ${id}`);
      });
    });

  schedule
    .command('delete')
    .argument('<id>', 'schedule id')
    .description('delete a schedule (runs already started continue)')
    .action(async (id: string) => {
      await withSession({}, async (s) => {
        await (await scheduleHandle(s, id)).delete();
        out(`deleted ${id}`);
      });
    });
}
