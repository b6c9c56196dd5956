import { Redirect } from "wouter";
import { useSession } from "@/api/session";
import { LAST_WORKSPACE_KEY, readLocal } from "@/lib/storage";
import { wsPath } from "./context";

/** "/" opens the last workspace used, else the first; with none, the welcome page. */
export function HomeRedirect() {
  const { workspaces } = useSession();
  if (workspaces.length === 0) return <Redirect to="/welcome" replace />;
  const last = readLocal(LAST_WORKSPACE_KEY);
  const target = workspaces.find((w) => w.id === last) ?? workspaces[0]!;
  return <Redirect to={wsPath(target.id, "members")} replace />;
}
