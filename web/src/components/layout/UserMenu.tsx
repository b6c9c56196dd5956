import { useRef } from "react";
import { ChevronsUpDown, LogOut, Monitor, Moon, ShieldAlert, Sun, UserRound } from "lucide-react";
import { useLocation } from "wouter";
import { useSession } from "@/api/session";
import { Avatar } from "@/components/ui/avatar";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { toast, toastError } from "@/components/ui/toast";
import { type ThemeChoice, useTheme } from "@/lib/theme";
import { cn } from "@/lib/cn";
import { useLogout } from "@/pages/auth/api";

/** Who is signed in, with account, theme and sign-out. `compact` shows only the avatar. */
export function UserMenu({ compact, onNavigate }: { compact?: boolean; onNavigate?: () => void }) {
  const { user } = useSession();
  const [, navigate] = useLocation();
  const { choice, setTheme } = useTheme();
  const logout = useLogout();
  // After choosing a page, focus goes to that page's heading, not back to this button.
  const leaving = useRef(false);
  const go = (path: string) => {
    leaving.current = true;
    onNavigate?.();
    navigate(path);
  };

  const signOut = async (everywhere: boolean) => {
    try {
      await logout.mutateAsync(everywhere);
      toast({
        title: everywhere ? "Signed out everywhere" : "Signed out",
        description: everywhere ? "Every session of your account has ended." : undefined,
      });
    } catch (err) {
      toastError(err);
    }
    navigate("/login", { replace: true });
  };

  return (
    <DropdownMenu>
      <DropdownMenuTrigger
        aria-label={`Account menu for ${user.name}`}
        className={cn(
          "flex items-center gap-3 rounded-lg text-left transition-colors hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none data-[state=open]:bg-accent",
          compact ? "p-1" : "w-full p-2",
        )}
      >
        <Avatar name={user.name} />
        {!compact && (
          <>
            <span className="grid min-w-0 flex-1 leading-tight">
              <span className="truncate text-sm font-medium">{user.name}</span>
              <span className="truncate text-xs text-muted-foreground">{user.email}</span>
            </span>
            <ChevronsUpDown className="size-4 text-muted-foreground" aria-hidden />
          </>
        )}
      </DropdownMenuTrigger>
      <DropdownMenuContent
        align={compact ? "end" : "start"}
        side={compact ? "bottom" : "top"}
        className="w-60"
        onCloseAutoFocus={(e) => {
          if (leaving.current) e.preventDefault();
          leaving.current = false;
        }}
      >
        <DropdownMenuLabel className="grid">
          <span className="truncate text-sm font-medium text-foreground">{user.name}</span>
          <span className="truncate font-normal">{user.email}</span>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => go("/account")}>
          <UserRound aria-hidden /> Account
        </DropdownMenuItem>
        {user.is_system_admin && (
          <DropdownMenuItem onSelect={() => go("/admin")}>
            <ShieldAlert aria-hidden /> Operator console
          </DropdownMenuItem>
        )}
        <DropdownMenuSeparator />
        <DropdownMenuLabel>Theme</DropdownMenuLabel>
        <DropdownMenuRadioGroup value={choice} onValueChange={(v) => setTheme(v as ThemeChoice)}>
          <DropdownMenuRadioItem value="light">
            <Sun aria-hidden /> Light
          </DropdownMenuRadioItem>
          <DropdownMenuRadioItem value="dark">
            <Moon aria-hidden /> Dark
          </DropdownMenuRadioItem>
          <DropdownMenuRadioItem value="system">
            <Monitor aria-hidden /> System
          </DropdownMenuRadioItem>
        </DropdownMenuRadioGroup>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => void signOut(false)}>
          <LogOut aria-hidden /> Sign out
        </DropdownMenuItem>
        <DropdownMenuItem destructive onSelect={() => void signOut(true)}>
          <LogOut aria-hidden /> Sign out everywhere
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
