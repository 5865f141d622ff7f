import { createContext, useContext } from "react";

/** Who is signed in and how to sign out, in either mode. */
export interface Session {
  label: string;
  signOut: () => void;
}

export const SessionContext = createContext<Session>({ label: "", signOut: () => {} });

export function useSession() {
  return useContext(SessionContext);
}
