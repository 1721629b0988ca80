import { createContext, useContext } from 'react';
import type { MeQuery } from '../graphql/generated/graphql';
import type { Api } from './client';

export type Viewer = MeQuery['me'];

export interface Session {
  api: Api;
  viewer: Viewer;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** Whether the key's role allows an action (the server's policy, read through `me`). */
export function useCan(action: string): boolean {
  return useSession().viewer.allowed.includes(action);
}
