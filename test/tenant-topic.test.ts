import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvents, lastEventPosition, type NewEvent } from '../src/events/event-log';
import { TenantTopic, type HubEvent, type TopicLog } from '../src/events/tenant-topic';
import { tenantEventsAfter } from '../src/repositories/event-log.repository';
import { waitFor } from './support/dag-helpers';
import { logTo } from './support/log-capture';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * A tenant's live feed across drops of the bus, on the real event log (stamped by a real
 * relay): what a repair reads back, what it holds, and in which order listeners get it.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler'] });
});
afterAll(async () => {
  await t?.stop();
});

describe('TenantTopic', () => {
  let tenantId: string;
  const dagId = `topic-${randomUUID()}`;
  const event = (taskId: string): NewEvent => ({
    type: 'JOB',
    dagId,
    payload: { dagId, taskId, name: taskId, state: 'ACTIVE', tryNumber: 1 },
  });
  /** Append events and wait for the relay to stamp them; their logged form, in order. */
  const logged = async (...taskIds: string[]): Promise<HubEvent[]> => {
    const from = BigInt(await lastEventPosition(t.app.services.ds, tenantId));
    await t.app.services.ds.transaction((m) => appendEvents(m, tenantId, taskIds.map(event)));
    let found: HubEvent[] = [];
    await waitFor(
      async () => {
        const logs = await tenantEventsAfter(t.app.services.ds, tenantId, from, 500);
        found = logs.map((log) => ({ position: BigInt(log.position), log }));
        return found.length === taskIds.length;
      },
      10_000,
      'the relay to stamp',
    );
    return found;
  };
  const realLog = (): TopicLog => ({
    past: async (after) => {
      const logs = await tenantEventsAfter(t.app.services.ds, tenantId, after, 500);
      return { events: logs.map((log) => ({ position: BigInt(log.position), log })), more: logs.length >= 500 };
    },
    position: async () => BigInt(await lastEventPosition(t.app.services.ds, tenantId)),
  });
  const heardBy = (topic: TenantTopic) => {
    const heard: string[] = [];
    topic.listeners.add((events) =>
      heard.push(...events.map((e) => String((e.log.payload as { taskId?: string }).taskId))),
    );
    return heard;
  };

  beforeAll(async () => {
    ({ tenantId } = await t.tenant('submitter'));
  });

  it('hands out what was missed, then the live events held from the drop on, once each and in order', async () => {
    const topic = new TenantTopic(realLog(), logTo([]));
    const heard = heardBy(topic);
    await topic.started();
    const [first] = await logged('first');
    topic.deliver([first]);
    topic.dropped();
    // Published while the connection was down: never delivered live.
    await logged('missed-1', 'missed-2');
    // Heard once the connection is back, before the repair began: held.
    const [after] = await logged('after-reconnect');
    topic.deliver([after]);
    expect(heard).toEqual(['first']);
    await topic.repair();
    expect(heard).toEqual(['first', 'missed-1', 'missed-2', 'after-reconnect']);
    // Live again: delivered at once.
    const [live] = await logged('live');
    topic.deliver([live]);
    expect(heard.at(-1)).toBe('live');
  });

  it('dropped again while it repairs: keeps holding, and the next repair reads what that drop missed', async () => {
    let gate: (() => void) | null = null;
    const log = realLog();
    const slow: TopicLog = {
      position: log.position,
      past: async (after) => {
        await new Promise<void>((r) => (gate = r));
        return log.past(after);
      },
    };
    const topic = new TenantTopic(slow, logTo([]));
    const heard = heardBy(topic);
    await topic.started();
    topic.dropped();
    await logged('gap-1');
    const repairing = topic.repair();
    await waitFor(async () => gate !== null, 5_000, 'the repair to read');
    topic.dropped(); // the connection goes again mid-repair
    gate!();
    await repairing;
    expect(heard).toEqual(['gap-1']);
    await logged('gap-2');
    // Not delivered live: still holding since the second drop.
    const [held] = await logged('held');
    topic.deliver([held]);
    expect(heard).toEqual(['gap-1']);
    gate = null;
    const second = topic.repair();
    await waitFor(async () => gate !== null, 5_000, 'the second repair to read');
    gate!();
    await second;
    expect(heard).toEqual(['gap-1', 'gap-2', 'held']);
  });

  it('a repair whose read fails is logged and hands out the held events', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = realLog();
    const broken: TopicLog = { position: log.position, past: () => Promise.reject(new Error('database away')) };
    const topic = new TenantTopic(broken, logTo(lines, 'warn'));
    const heard = heardBy(topic);
    await topic.started();
    topic.dropped();
    const [held] = await logged('held-through-failure');
    topic.deliver([held]);
    await topic.repair();
    expect(heard).toEqual(['held-through-failure']);
    expect(lines.map((l) => l.msg)).toEqual(['live events missed while Redis was away could not be read back']);
  });
});
