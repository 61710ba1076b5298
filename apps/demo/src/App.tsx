import { useState } from 'react';
import { Home } from './Home.js';
import { loadIdentity, type Identity } from './identity.js';
import { RoomPage } from './RoomPage.js';
import { parseRoute, usePathname } from './router.js';

export function App() {
  const [identity, setIdentity] = useState<Identity>(loadIdentity);
  const route = parseRoute(usePathname());
  if (route.page === 'room') return <RoomPage room={route.room} view={route.view} identity={identity} />;
  return <Home identity={identity} onIdentity={setIdentity} />;
}
