import type { Me, Role } from "@/api/client";

export const WS_ID = "01900000-0000-7000-8000-000000000001";

export function me(role: Role = "owner", overrides: Partial<Me["user"]> = {}): Me {
  return {
    csrf_token: "csrf-1",
    user: {
      id: "01900000-0000-7000-8000-0000000000aa",
      email: "olivia@example.com",
      name: "Olivia Owner",
      is_system_admin: false,
      created_at: "2025-01-01T00:00:00Z",
      ...overrides,
    },
    workspaces: [{ id: WS_ID, name: "Acme", slug: "acme", role }],
  };
}
