import { useOthers } from '@tandem/react';
import type { Identity } from './identity.js';

function initial(name: string | undefined): string {
  return (name?.trim()[0] ?? '?').toUpperCase();
}

/** Who is here, with their colours; you first. */
export function PresenceBar({ identity }: { identity: Identity }) {
  const others = useOthers().filter((o) => o.key !== identity.id);
  return (
    <ul className="presence" aria-label="People in this room" data-testid="presence">
      <li className="avatar me" style={{ background: identity.color }} title={`${identity.name} (you)`}>
        {initial(identity.name)}
      </li>
      {others.map((o) => (
        <li
          key={o.key}
          className="avatar"
          style={{ background: typeof o.user.color === 'string' ? o.user.color : '#888' }}
          title={typeof o.user.name === 'string' ? o.user.name : o.key}
          data-name={o.user.name}
        >
          {initial(typeof o.user.name === 'string' ? o.user.name : undefined)}
        </li>
      ))}
    </ul>
  );
}
