import { createContext, type ReactNode, useContext } from "react";
import type { Role } from "@/api/client";
import { type Permission, can } from "@/lib/permissions";

export interface WorkspaceCtx {
  id: string;
  name: string;
  slug: string;
  role: Role;
}

const Ctx = createContext<WorkspaceCtx | null>(null);

export function WorkspaceProvider({ value, children }: { value: WorkspaceCtx; children: ReactNode }) {
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/** The workspace named by the URL, and the caller's role in it. */
export function useWorkspace(): WorkspaceCtx & { can: (p: Permission) => boolean } {
  const ws = useContext(Ctx);
  if (!ws) throw new Error("useWorkspace outside a workspace route");
  return { ...ws, can: (p) => can(ws.role, p) };
}

/** Paths inside a workspace. */
export const wsPath = (id: string, page: "members" | "api-keys" | "audit" | "settings" | string = "members") =>
  `/w/${id}/${page}`;
