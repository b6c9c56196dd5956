import { FileQuestion } from "lucide-react";
import { Link } from "wouter";
import { PageHeader } from "@/components/PageHeader";
import { buttonClasses } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState
        icon={FileQuestion}
        title="There's nothing at this address"
        description="The link may be old or mistyped."
        action={
          <Link href="/" className={buttonClasses("outline", "sm")}>
            Go to my workspaces
          </Link>
        }
      />
    </>
  );
}
