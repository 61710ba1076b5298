import { useSaveState, useStatus, useTransport } from '@tandem/react';

const CONNECTION: Record<string, string> = {
  connecting: 'Connecting',
  live: 'Live',
  fallback: 'Fallback',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  failed: 'Disconnected',
};

const SAVE: Record<string, string> = { saved: 'Saved', unknown: 'Not synced yet', 'read-only': 'Read-only' };

/** Live / Fallback / Reconnecting / Offline, and Saved / Saving / Unsaved from the server's durable acks. */
export function StatusBadge() {
  const status = useStatus();
  const transport = useTransport();
  const { state, pendingUpdates } = useSaveState();
  const connection = CONNECTION[status] ?? status;
  const save = SAVE[state] ?? `${state === 'saving' ? 'Saving' : 'Unsaved'} (${pendingUpdates})`;
  const title =
    status === 'fallback'
      ? `WebSocket is blocked on this network: syncing over HTTP (${transport === 'http-polling' ? 'polling' : 'event stream'})`
      : undefined;
  return (
    <div className="status" aria-live="polite">
      <span className={`badge connection ${status}`} data-testid="connection" data-status={status} title={title}>
        <span className="dot" aria-hidden="true" />
        {connection}
        {status === 'fallback' && transport === 'http-polling' ? ' · polling' : ''}
      </span>
      <span className={`badge save ${state}`} data-testid="save" data-save={state}>
        {save}
      </span>
    </div>
  );
}
