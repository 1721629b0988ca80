import type { Services } from '../../services/process-services';
import { trimEventLog } from '../../events/event-log';
import type { Sweep } from './sweep';

/** Events older than the retention leave the event log (not those OpenLineage out has yet to deliver). */
export const trimSweep = ({ ds, config }: Services): Sweep => ({
  name: 'trim-event-log',
  run: async () =>
    void (await trimEventLog(ds, config.eventRetentionDays * 86_400, 5000, config.openLineage?.sink ?? null)),
});
