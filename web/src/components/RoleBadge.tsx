import type { Role } from "@/api/client";
import { ROLE_LABELS } from "@/lib/permissions";
import { Badge, type BadgeVariant } from "./ui/badge";

const variant: Record<Role, BadgeVariant> = { owner: "primary", admin: "success", member: "neutral", viewer: "outline" };

export function RoleBadge({ role }: { role: Role }) {
  return <Badge variant={variant[role]}>{ROLE_LABELS[role]}</Badge>;
}
