import { useState, type FormEvent } from 'react';
import { identityFor, recentRooms, saveIdentity, type Identity } from './identity.js';
import { navigate, roomPath } from './router.js';

const ROOM_NAME = /^[A-Za-z0-9._~:@+=,\-/]{1,256}$/;

function randomRoom(): string {
  const words = ['maple', 'harbor', 'comet', 'willow', 'ember', 'atlas', 'lumen', 'cedar'];
  const word = words[Math.floor(Math.random() * words.length)]!;
  return `${word}-${Math.random().toString(36).slice(2, 7)}`;
}

export function Home({ identity, onIdentity }: { identity: Identity; onIdentity: (identity: Identity) => void }) {
  const [name, setName] = useState(identity.name);
  const [token, setToken] = useState(identity.token ?? '');
  const [room, setRoom] = useState('');
  const [error, setError] = useState<string | null>(null);
  const rooms = recentRooms();
  const preview = identityFor(name || 'guest', null);

  const enter = (target: string): void => {
    const trimmedName = name.trim();
    if (!trimmedName) {
      setError('Pick a display name first.');
      return;
    }
    if (!ROOM_NAME.test(target) || target.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      setError('Room names are letters, digits and . _ ~ : @ + = , - with / between parts.');
      return;
    }
    onIdentity(saveIdentity(trimmedName, token.trim() || null));
    navigate(roomPath(target));
  };
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    enter(room.trim() || randomRoom());
  };

  return (
    <div className="home">
      <header className="home-header">
        <span className="logo" aria-hidden="true" />
        <h1>Tandem</h1>
        <p className="tagline">Real-time collaboration that knows when your work is saved.</p>
      </header>
      <form className="card home-form" onSubmit={submit}>
        <label htmlFor="name">Display name</label>
        <div className="name-row">
          <span className="avatar" style={{ background: preview.color }} aria-hidden="true">
            {(name.trim()[0] ?? '?').toUpperCase()}
          </span>
          <input
            id="name"
            value={name}
            maxLength={64}
            autoComplete="nickname"
            onChange={(e) => setName(e.target.value)}
          />
        </div>
        <label htmlFor="room">Room</label>
        <input
          id="room"
          value={room}
          placeholder="leave empty for a new room"
          onChange={(e) => setRoom(e.target.value)}
        />
        <details className="token">
          <summary>Server requires a token?</summary>
          <p>
            Paste a JWT made with <code>tandem token --user &lt;id&gt; --room &apos;**&apos;</code> (see the README).
          </p>
          <input
            id="token"
            aria-label="Token"
            value={token}
            placeholder="eyJ…"
            onChange={(e) => setToken(e.target.value)}
          />
        </details>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          {room.trim() ? 'Open room' : 'Create a room'}
        </button>
      </form>
      {rooms.length > 0 && (
        <section className="card recent">
          <h2>Recent rooms</h2>
          <ul>
            {rooms.map((r) => (
              <li key={r}>
                <button type="button" className="link" onClick={() => enter(r)}>
                  {r}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
