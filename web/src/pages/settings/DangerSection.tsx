import { useState } from "react";
import { useLocation } from "wouter";
import { useRefreshMe, useSession } from "@/api/session";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { toast, toastError } from "@/components/ui/toast";
import { useRemoveMember } from "@/pages/members/api";
import { useDeleteWorkspace } from "@/pages/workspaces/api";
import { useWorkspace } from "@/pages/workspaces/context";
import { deleteConfirmMatches } from "./schemas";

export function DangerSection() {
  const ws = useWorkspace();
  const { user } = useSession();
  const [, navigate] = useLocation();
  const refreshMe = useRefreshMe();
  const del = useDeleteWorkspace(ws.id);
  const leave = useRemoveMember(ws.id);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const [typed, setTyped] = useState("");
  const canDelete = ws.can("delete_workspace");

  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader>
          <CardTitle>Leave workspace</CardTitle>
          <CardDescription>
            You lose access to {ws.name} until someone invites you again.
            {ws.role === "owner" && " If you're the only owner, make someone else owner first."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <Button variant="destructive-outline" onClick={() => setConfirmLeave(true)}>
            Leave {ws.name}
          </Button>
        </CardContent>
      </Card>

      {canDelete && (
        <Card className="border-destructive/40">
          <CardHeader>
            <CardTitle className="text-destructive">Delete workspace</CardTitle>
            <CardDescription>
              Deletes {ws.name} for everyone: members lose access and its API keys stop working. This can't be undone
              from the app.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <Button variant="destructive" onClick={() => setConfirmDelete(true)}>
              Delete this workspace
            </Button>
          </CardContent>
        </Card>
      )}

      <ConfirmDialog
        open={confirmLeave}
        onOpenChange={setConfirmLeave}
        title={`Leave ${ws.name}?`}
        description="You'll lose access right away."
        confirmLabel="Leave workspace"
        destructive
        onConfirm={async () => {
          try {
            await leave.mutateAsync(user.id);
          } catch (err) {
            toastError(err, "Couldn't leave the workspace");
            throw err;
          }
          toast({ title: `You left ${ws.name}` });
          await refreshMe();
          navigate("/", { replace: true });
        }}
      />
      <ConfirmDialog
        open={confirmDelete}
        onOpenChange={(o) => {
          setConfirmDelete(o);
          if (!o) setTyped("");
        }}
        title={`Delete ${ws.name}?`}
        description="Everyone loses access, and its API keys stop working. To confirm, type the workspace's name."
        confirmLabel="Delete workspace"
        destructive
        confirmDisabled={!deleteConfirmMatches(typed, ws.name)}
        onConfirm={async () => {
          try {
            await del.mutateAsync();
          } catch (err) {
            toastError(err, "Couldn't delete the workspace");
            throw err;
          }
          toast({ title: "Workspace deleted", description: `${ws.name} is gone.` });
          navigate("/", { replace: true });
        }}
      >
        <Field label={<>Type <span className="font-mono">{ws.name}</span> to confirm</>}>
          <Input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
        </Field>
      </ConfirmDialog>
    </div>
  );
}
